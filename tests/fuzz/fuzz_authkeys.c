/* libFuzzer target: ternd's authorized-keys file ('ROLE NAME PUBLICKEY'
 * lines), as authkeys_load hands it to authkeys_parse after refusing NUL
 * bytes. A table that parses must find each of its keys again. */
#include "common/authkeys.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[512];
    authkeys *ak = authkeys_parse("fuzz", text, err, sizeof err);
    if (ak) {
        /* Every line that parsed holds a 40-character key; look each up. */
        for (const char *p = text; *p; p++) {
            if (strlen(p) < 40)
                break;
            char key[CURVE_Z85];
            memcpy(key, p, 40);
            key[40] = '\0';
            const authkey *k = authkeys_find(ak, key);
            if (k && strcmp(k->pub, key) != 0)
                abort();
        }
        authkeys_destroy(&ak);
    } else if (!err[0]) {
        abort();   /* a refusal always says why */
    }
    free(text);
    return 0;
}

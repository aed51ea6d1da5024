/* libFuzzer target: the directive lines of a batch script, as 'tern submit
 * job.sh' reads them (#TERN and #SBATCH lines, quoting, unknown #SBATCH
 * options skipped), then what tern submit does with the options found:
 * merged under the command line's, resolved into nodes x tasks per node
 * and GPUs per node. The script is text: like read_script, the parser sees
 * it up to its first NUL byte. */
#include "cli/submit_opts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void warn(const char *msg)
{
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    submit_opts *o = calloc(1, sizeof *o), *merged = calloc(1, sizeof *merged);
    if (!text || !o || !merged)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[1024];
    if (submit_directives(o, "job.sh", text, warn, err, sizeof err) < 0)
        goto out;
    submit_opts_merge(merged, o);
    uint32_t nodes, tpn, gpn;
    if (submit_opts_shape(merged, &nodes, &tpn, err, sizeof err) == 0)
        (void)submit_opts_gpus(merged, nodes, &gpn, err, sizeof err);
out:
    free(merged);
    free(o);
    free(text);
    return 0;
}

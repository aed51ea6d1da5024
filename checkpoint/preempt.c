/* The preemption flag: set by TERN_PREEMPT_SIGNAL or SIGTERM, read by the
 * training loop between steps. The handler only stores a flag, so any
 * moment is safe for the signal to arrive. */
#include "tern/tern.h"

#include "common/parse.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t requested;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int watch_rc;

static void on_notice(int sig)
{
    (void)sig;
    requested = 1;
}

static void install(void)
{
    int sig = SIGUSR1;
    const char *v = getenv("TERN_PREEMPT_SIGNAL");
    if (v && *v && parse_signal(v, &sig) < 0) {
        watch_rc = TERN_EINVAL;
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_notice;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    /* SIGTERM whatever happens to the other (SIGKILL cannot be caught). */
    int term = sigaction(SIGTERM, &sa, NULL);
    if (sigaction(sig, &sa, NULL) < 0 || term < 0)
        watch_rc = TERN_ESYS;
}

int tern_preempt_watch(void)
{
    pthread_once(&once, install);
    return watch_rc;
}

int tern_preempt_requested(void)
{
    tern_preempt_watch();
    return requested != 0;
}

int tern_preempt_agree(tern_comm *comm)
{
    float flag = tern_preempt_requested() ? 1.0f : 0.0f;
    int rc = tern_allreduce(comm, &flag, &flag, 1, TERN_F32, TERN_MAX);
    return rc < 0 ? rc : flag > 0.0f;
}

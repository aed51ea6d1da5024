/* The public collective calls: what each checks of its arguments, and
 * which backend serves it, the plugin (device buffers; every buffer under
 * MPI) or the CPU ring (ring.c). */
#include "collectives/coll.h"

#include "collectives/plugin.h"
#include "collectives/progress.h"
#include "collectives/ring.h"

#include <stdbool.h>
#include <stdio.h>

enum { VIA_RING = 0, VIA_PLUGIN = 1 };

size_t tern_dtype_size(tern_dtype dt)
{
    switch (dt) {
    case TERN_F32: return 4;
    case TERN_F64: return 8;
    case TERN_F16:
    case TERN_BF16: return 2;
    default: return 0;
    }
}

/* Checks shared by every call. Returns 0 to go on. */
static int enter(tern_comm *c, const char *what, tern_dtype dt, bool need_dt)
{
    if (!c)
        return TERN_EINVAL;
    if (c->broken)
        return TERN_EBROKEN;   /* c->err keeps the first failure */
    if (need_dt && tern_dtype_size(dt) == 0)
        return coll_fail(c, TERN_EINVAL, "%s: unknown dtype %d", what, (int)dt);
    c->err[0] = '\0';
    return 0;
}

static bool owned(tern_comm *c, const void *buf)
{
    return c->plugin->owns && buf && c->plugin->owns(c->plugin_state, buf);
}

/* Who serves a call on buffers a and b of 'count' elements ('b' is 'a'
 * for a call with one buffer): VIA_PLUGIN, VIA_RING, or TERN_EINVAL
 * recorded when a buffer is NULL, or one is on the device and the other
 * not. */
static int route(tern_comm *c, const char *what, size_t count, const void *a, const void *b)
{
    if (count && (!a || !b))
        return coll_fail(c, TERN_EINVAL, "%s: NULL buffer", what);
    if (!c->plugin || !c->plugin_state)
        return VIA_RING;
    if (c->plugin_only)
        return VIA_PLUGIN;
    bool da = owned(c, a), db = b == a ? da : owned(c, b);
    if (da != db)
        return coll_fail(c, TERN_EINVAL, "%s: one buffer on the device, the other not", what);
    return da ? VIA_PLUGIN : VIA_RING;
}

/* A plugin's failure (its reason in c->plugin_err) breaks the
 * communicator like any other; when libtern itself saw a peer die
 * (through 'alive'), that error stands. */
static int plugin_result(tern_comm *c, int rc)
{
    if (rc >= 0)
        return 0;
    return c->broken ? c->code : coll_fail(c, TERN_EBACKEND, "%s", c->plugin_err);
}

/* What the ring's calls return: 0, or the error they recorded. */
static int ring_result(tern_comm *c, int rc)
{
    return rc < 0 ? c->code : 0;
}

int tern_allreduce(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt,
                   tern_op op)
{
    int rc = enter(c, "allreduce", dt, true);
    if (rc)
        return rc;
    if ((unsigned)op >= TERN_OP_COUNT)
        return coll_fail(c, TERN_EINVAL, "allreduce: unknown op %d", (int)op);
    int via = route(c, "allreduce", count, send, recv);
    if (via == VIA_PLUGIN)
        return plugin_result(c, c->plugin->allreduce(c->plugin_state, send, recv, count, dt, op,
                                                     coll_alive, c, c->plugin_err,
                                                     sizeof c->plugin_err));
    return via < 0 ? via : ring_result(c, ring_allreduce(c, send, recv, count, dt, op));
}

int tern_broadcast(tern_comm *c, void *buf, size_t count, tern_dtype dt, int root)
{
    int rc = enter(c, "broadcast", dt, true);
    if (rc)
        return rc;
    if (root < 0 || root >= c->size)
        return coll_fail(c, TERN_EINVAL, "broadcast: root %d outside 0..%d", root, c->size - 1);
    int via = route(c, "broadcast", count, buf, buf);
    if (via == VIA_PLUGIN)
        return plugin_result(c, c->plugin->broadcast(c->plugin_state, buf, count, dt, root,
                                                     coll_alive, c, c->plugin_err,
                                                     sizeof c->plugin_err));
    return via < 0 ? via
                   : ring_result(c, ring_broadcast(c, buf, count * tern_dtype_size(dt), root));
}

int tern_allgather(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt)
{
    int rc = enter(c, "allgather", dt, true);
    if (rc)
        return rc;
    int via = route(c, "allgather", count, send, recv);
    if (via == VIA_PLUGIN)
        return plugin_result(c, c->plugin->allgather(c->plugin_state, send, recv, count, dt,
                                                     coll_alive, c, c->plugin_err,
                                                     sizeof c->plugin_err));
    return via < 0 ? via
                   : ring_result(c, ring_allgather(c, send, recv, count * tern_dtype_size(dt)));
}

int tern_barrier(tern_comm *c)
{
    int rc = enter(c, "barrier", TERN_F32, false);
    if (rc)
        return rc;
    if (c->plugin_only)
        return plugin_result(c, c->plugin->barrier(c->plugin_state, coll_alive, c, c->plugin_err,
                                                   sizeof c->plugin_err));
    return ring_result(c, ring_barrier(c));
}

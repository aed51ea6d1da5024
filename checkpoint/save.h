/* The collective save (save.c), and the background thread that runs it
 * for tern_ckpt_save_async. */
#ifndef TERN_CKPT_SAVE_H
#define TERN_CKPT_SAVE_H

#include "checkpoint/ckpt.h"

/* Stops the background thread once its save is done (returns at once when
 * none was started). */
void ckpt_async_stop(tern_ckpt *ck);

#endif

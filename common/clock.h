/* Clocks: monotonic for timeouts, wall for what users see. */
#ifndef TERN_CLOCK_H
#define TERN_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
/* Unix time in milliseconds. */
int64_t clock_wall_ms(void);
/* Sleeps 'ms' milliseconds, resuming after signals. */
void clock_sleep_ms(int64_t ms);

#endif

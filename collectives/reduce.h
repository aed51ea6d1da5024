/* Element-wise reduction and the half-type conversions. These define the
 * arithmetic of every CPU collective: a test's serial reference uses the
 * same functions, element by element, in the canonical order. */
#ifndef TERN_REDUCE_H
#define TERN_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

/* The reduction of two values; 'a' is the partial so far (the left
 * operand), 'b' the next rank's value. MIN and MAX keep 'a' unless 'b' is
 * strictly smaller (larger), so ties and NaNs resolve by order. AVG sums
 * (the division comes at the end). */
static inline float reduce_f32(float a, float b, tern_op op)
{
    switch (op) {
    case TERN_MIN: return b < a ? b : a;
    case TERN_MAX: return b > a ? b : a;
    default: return a + b;
    }
}

static inline double reduce_f64(double a, double b, tern_op op)
{
    switch (op) {
    case TERN_MIN: return b < a ? b : a;
    case TERN_MAX: return b > a ? b : a;
    default: return a + b;
    }
}

/* dst[i] = reduce(a[i], b[i]) for n elements of F32 or F64 (half types are
 * reduced in F32). dst may be a or b. */
void reduce_pair(void *dst, const void *a, const void *b, size_t n, tern_dtype dt, tern_op op);

/* x[i] = x[i] / n, for AVG. */
void reduce_divide(void *x, size_t count, tern_dtype dt, int n);

/* Conversions of F16 / BF16 to and from F32, rounding to nearest even,
 * NaNs kept NaN (quiet), overflow to infinity. */
float half_to_float(uint16_t h, tern_dtype dt);
uint16_t float_to_half(float f, tern_dtype dt);
void halves_to_f32(float *dst, const uint16_t *src, size_t n, tern_dtype dt);
void f32_to_halves(uint16_t *dst, const float *src, size_t n, tern_dtype dt);

/* The type the reduction runs in: F32 for the half types, else dt. */
static inline tern_dtype reduce_type(tern_dtype dt)
{
    return dt == TERN_F16 || dt == TERN_BF16 ? TERN_F32 : dt;
}

#endif

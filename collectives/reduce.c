/* Reduction kernels. Plain loops the compiler vectorises for each of
 * AVX-512, AVX2 and baseline x86-64 (chosen at load time); without
 * -ffast-math a vector lane computes exactly what the scalar expression
 * does, so the bits never depend on the machine's vector width. */
#include "collectives/reduce.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define TARGETS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TARGETS
#endif

/* 64-byte vectors (GCC vector extensions): each block is loaded whole
 * before it is stored, so the destination may be either input. */
typedef float vf32 __attribute__((vector_size(64)));
typedef double vf64 __attribute__((vector_size(64)));
typedef int32_t vi32 __attribute__((vector_size(64)));
typedef int64_t vi64 __attribute__((vector_size(64)));

#define LANES32 16
#define LANES64 8
#define LOAD(v, p) memcpy(&(v), (p), 64)
#define STORE(p, v) memcpy((p), &(v), 64)

/* The three element-wise operations, as whole-vector code and scalar tails;
 * MIN/MAX pick by a mask exactly as the scalar expression does. */
#define KERNELS(T, V, VI, LANES, NAME)                                                        \
    TARGETS static void sum_##NAME(T *d, const T *a, const T *b, size_t n)                   \
    {                                                                                         \
        size_t i = 0;                                                                         \
        for (; i + LANES <= n; i += LANES) {                                                  \
            V x, y, r;                                                                        \
            LOAD(x, a + i);                                                                   \
            LOAD(y, b + i);                                                                   \
            r = x + y;                                                                        \
            STORE(d + i, r);                                                                  \
        }                                                                                     \
        for (; i < n; i++)                                                                    \
            d[i] = a[i] + b[i];                                                               \
    }                                                                                         \
    TARGETS static void pick_##NAME(T *d, const T *a, const T *b, size_t n, int max)         \
    {                                                                                         \
        size_t i = 0;                                                                         \
        for (; i + LANES <= n; i += LANES) {                                                  \
            V x, y;                                                                           \
            LOAD(x, a + i);                                                                   \
            LOAD(y, b + i);                                                                   \
            VI m = max ? (y > x) : (y < x);                                                   \
            VI r = ((VI)y & m) | ((VI)x & ~m);                                                \
            STORE(d + i, r);                                                                  \
        }                                                                                     \
        for (; i < n; i++)                                                                    \
            d[i] = max ? (b[i] > a[i] ? b[i] : a[i]) : (b[i] < a[i] ? b[i] : a[i]);          \
    }

KERNELS(float, vf32, vi32, LANES32, f32)
KERNELS(double, vf64, vi64, LANES64, f64)

void reduce_pair(void *dst, const void *a, const void *b, size_t n, tern_dtype dt, tern_op op)
{
    if (dt == TERN_F64) {
        if (op == TERN_MIN || op == TERN_MAX)
            pick_f64(dst, a, b, n, op == TERN_MAX);
        else
            sum_f64(dst, a, b, n);
    } else {
        if (op == TERN_MIN || op == TERN_MAX)
            pick_f32(dst, a, b, n, op == TERN_MAX);
        else
            sum_f32(dst, a, b, n);
    }
}

TARGETS static void div_f32(float *x, size_t n, float by)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] / by;
}

TARGETS static void div_f64(double *x, size_t n, double by)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] / by;
}

void reduce_divide(void *x, size_t count, tern_dtype dt, int n)
{
    if (dt == TERN_F64)
        div_f64(x, count, (double)n);
    else
        div_f32(x, count, (float)n);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float half_to_float(uint16_t h, tern_dtype dt)
{
    if (dt == TERN_BF16)
        return bits_f32((uint32_t)h << 16);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f)                       /* inf, NaN */
        return bits_f32(sign | 0x7f800000u | man << 13);
    if (exp == 0) {
        if (man == 0)
            return bits_f32(sign);
        /* subnormal: normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        return bits_f32(sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13);
    }
    return bits_f32(sign | (exp + 127 - 15) << 23 | man << 13);
}

uint16_t float_to_half(float f, tern_dtype dt)
{
    uint32_t u = f32_bits(f);
    if (dt == TERN_BF16) {
        if ((u & 0x7fffffffu) > 0x7f800000u)   /* NaN: keep it NaN, quiet */
            return (uint16_t)(u >> 16 | 0x40);
        return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
    }
    uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)                       /* NaN: quiet, payload's top bits */
        return sign | 0x7e00 | (uint16_t)(a >> 13 & 0x1ff);
    if (a >= 0x477ff000u)                      /* rounds to >= 65520: infinity */
        return sign | 0x7c00;
    if (a >= 0x38800000u) {                    /* normal half */
        uint32_t r = a - (112u << 23);         /* rebias 127 -> 15 */
        r += 0xfffu + (r >> 13 & 1);           /* round to nearest even */
        return sign | (uint16_t)(r >> 13);
    }
    if (a < 0x33000000u)                       /* below half the smallest subnormal */
        return sign;
    /* subnormal half: shift the full mantissa, round to nearest even */
    uint32_t exp = a >> 23, man = (a & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - exp;                /* 14 .. 24 */
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
        half++;
    return sign | (uint16_t)half;
}

void halves_to_f32(float *dst, const uint16_t *src, size_t n, tern_dtype dt)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = half_to_float(src[i], dt);
}

void f32_to_halves(uint16_t *dst, const float *src, size_t n, tern_dtype dt)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = float_to_half(src[i], dt);
}

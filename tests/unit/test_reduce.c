/* The arithmetic of the CPU collectives: half-type conversions round to
 * nearest even like the hardware does, and the vector kernels compute
 * exactly what the scalar expressions do, in place or not. */
#include "tests/unit/unit.h"

#include "collectives/coll.h"
#include "collectives/reduce.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static bool half_nan(uint16_t h, tern_dtype dt)
{
    return dt == TERN_F16 ? (h & 0x7c00) == 0x7c00 && (h & 0x3ff)
                          : (h & 0x7f80) == 0x7f80 && (h & 0x7f);
}

/* Every half value survives the trip through float unchanged. */
static void test_round_trip(void)
{
    tern_dtype types[] = { TERN_F16, TERN_BF16 };
    for (int t = 0; t < 2; t++) {
        int bad = 0;
        for (uint32_t h = 0; h < 65536; h++) {
            float f = half_to_float((uint16_t)h, types[t]);
            uint16_t back = float_to_half(f, types[t]);
            if (half_nan((uint16_t)h, types[t]) ? !half_nan(back, types[t]) || !isnan(f)
                                                : back != h)
                bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
    }
}

/* float -> f16 agrees with the compiler's IEEE conversion (round to
 * nearest even), including subnormals, ties, overflow and infinities. */
static void test_f16_rounding(void)
{
    float edge[] = { 0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e10f, INFINITY,
                     -INFINITY, 5.96e-8f, 2.98e-8f, 2.99e-8f, 6.1035156e-05f, 6.0975552e-05f,
                     1.0009765625f, 1.00048828125f, 1.00146484375f, 3.0e-8f, 1e-30f };
    int bad = 0;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        _Float16 ref = (_Float16)edge[i];
        uint16_t rb;
        memcpy(&rb, &ref, 2);
        bad += float_to_half(edge[i], TERN_F16) != rb;
    }
    for (int i = 0; i < 2000000; i++) {
        /* exponents around the half range, where rounding is interesting */
        uint32_t u = (uint32_t)next();
        u = (u & 0x807fffffu) | ((uint32_t)(90 + (next() % 60)) << 23);
        float f = bits_f(u);
        _Float16 ref = (_Float16)f;
        uint16_t rb;
        memcpy(&rb, &ref, 2);
        bad += float_to_half(f, TERN_F16) != rb;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(half_nan(float_to_half(NAN, TERN_F16), TERN_F16));
}

/* float -> bf16 is the nearest bf16, ties to even: checked by long hand. */
static void test_bf16_rounding(void)
{
    int bad = 0;
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)next();
        if ((u & 0x7f800000u) == 0x7f800000u)
            continue;   /* inf/NaN: below */
        if (i % 7 == 0)
            u = (u & 0xffff0000u) | 0x8000u;   /* an exact tie */
        float f = bits_f(u);
        uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
        /* one step past the largest finite value is 2^128, as rounding sees it */
        double vh = (hi & 0x7fffffffu) == 0x7f800000u ? ldexp(u >> 31 ? -1.0 : 1.0, 128)
                                                       : (double)bits_f(hi);
        double dl = fabs((double)bits_f(lo) - f), dh = fabs(vh - f);
        uint32_t want = dl < dh ? lo : dh < dl ? hi : ((lo >> 16) & 1 ? hi : lo);
        bad += float_to_half(f, TERN_BF16) != (uint16_t)(want >> 16);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(float_to_half(INFINITY, TERN_BF16), 0x7f80);
    CU_ASSERT_EQUAL(float_to_half(bits_f(0x7f7fffffu), TERN_BF16), 0x7f80);   /* overflows */
    CU_ASSERT_TRUE(half_nan(float_to_half(NAN, TERN_BF16), TERN_BF16));
    CU_ASSERT_EQUAL(f_bits(half_to_float(0x3f80, TERN_BF16)), 0x3f800000u);
}

/* The vector kernels against the scalar expressions, for every length up
 * to a few vectors (tails), every op, and the three aliasings. */
static void test_kernels(void)
{
    enum { MAX = 70 };
    int bad = 0;
    for (int dt = 0; dt < 2; dt++) {
        tern_dtype t = dt ? TERN_F64 : TERN_F32;
        for (int op = 0; op < TERN_OP_COUNT; op++) {
            for (size_t n = 0; n <= MAX; n++) {
                for (int alias = 0; alias < 3; alias++) {
                    double a[MAX], b[MAX], d[MAX];
                    float af[MAX], bf[MAX], df[MAX];
                    for (size_t i = 0; i < n; i++) {
                        uint64_t r = next();
                        a[i] = (double)(int64_t)r / 9.2e18 * (r % 3 ? 1 : 1e-300);
                        b[i] = (double)(int64_t)next() / 9.2e18;
                        if (r % 11 == 0)
                            b[i] = a[i];                 /* ties */
                        if (r % 13 == 0)
                            a[i] = NAN;
                        if (r % 17 == 0)
                            a[i] = -0.0, b[i] = 0.0;     /* signed zeros */
                        af[i] = (float)a[i];
                        bf[i] = (float)b[i];
                    }
                    void *x = dt ? (void *)a : (void *)af, *y = dt ? (void *)b : (void *)bf;
                    void *out = alias == 0 ? (dt ? (void *)d : (void *)df) : alias == 1 ? x : y;
                    /* expected, from copies */
                    double ea[MAX];
                    for (size_t i = 0; i < n; i++)
                        ea[i] = dt ? reduce_f64(a[i], b[i], (tern_op)op)
                                   : reduce_f32(af[i], bf[i], (tern_op)op);
                    reduce_pair(out, x, y, n, t, (tern_op)op);
                    for (size_t i = 0; i < n; i++) {
                        if (dt) {
                            double got = ((double *)out)[i];
                            bad += memcmp(&got, &ea[i], 8) != 0;
                        } else {
                            float got = ((float *)out)[i], want = (float)ea[i];
                            bad += memcmp(&got, &want, 4) != 0;
                        }
                    }
                }
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    float x[3] = { 3, 6, 9 };
    reduce_divide(x, 3, TERN_F32, 3);
    CU_ASSERT_EQUAL(x[0], 1.0f);
    CU_ASSERT_EQUAL(x[2], 3.0f);
}

/* The canonical chunks tile [0, count) with sizes that differ by at most 1. */
static void test_chunks(void)
{
    size_t counts[] = { 0, 1, 7, 1009, 1000003, (size_t)1 << 40 };
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        for (int n = 1; n <= 9; n++) {
            size_t prev = 0, lo = SIZE_MAX, hi = 0;
            CU_ASSERT_EQUAL(coll_chunk_start(counts[k], n, 0), 0);
            for (int c = 1; c <= n; c++) {
                size_t s = coll_chunk_start(counts[k], n, c);
                CU_ASSERT_TRUE(s >= prev);
                if (s - prev < lo)
                    lo = s - prev;
                if (s - prev > hi)
                    hi = s - prev;
                prev = s;
            }
            CU_ASSERT_EQUAL(prev, counts[k]);
            CU_ASSERT_TRUE(hi - lo <= 1);
        }
    }
}

int suite_reduce(void)
{
    static const unit_test tests[] = {
        { "half round trip", test_round_trip },
        { "f16 rounding", test_f16_rounding },
        { "bf16 rounding", test_bf16_rounding },
        { "kernels", test_kernels },
        { "chunks", test_chunks },
        { NULL, NULL },
    };
    return unit_add("reduce", tests);
}

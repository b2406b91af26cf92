/* simd: compiling a hot elementwise loop for the vector units the CPU has.
 *
 * KSHOT_CLONES makes GCC emit a loop for AVX-512, for AVX2 and for the
 * x86-64 baseline, and pick one when the program loads (target_clones, an
 * ifunc), so one portable binary runs each machine's widest units. The
 * numbers do not depend on the clone: every operation in such a loop is an
 * IEEE elementwise operation, and C11 mode (-std=c11, as meson.build sets
 * it) keeps GCC from contracting a multiply and an add into an FMA. Where
 * the attribute is not available the loop is compiled once, as before. */
#ifndef KSHOT_SIMD_H
#define KSHOT_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define KSHOT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KSHOT_CLONES
#endif

/* Eight lanes of GCC's and clang's vector extension, whatever width the
 * clone's vector units have (one AVX-512 register, two AVX2 ones). */
typedef double vec8d __attribute__((vector_size(64)));
typedef float vec8f __attribute__((vector_size(32)));
typedef long long vec8l __attribute__((vector_size(64)));   /* a comparison's lanes */

#endif

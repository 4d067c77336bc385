/* cpu_clones.h: HS_CLONES, the attribute that builds a CPU loop for AVX-512, AVX2+FMA and the
 * baseline and picks one at load time (GCC's target_clones on x86-64; nothing elsewhere), so the
 * CPU backends (lstm_cpu.c, mlp_cpu.c) run fast on the machine they land on from one binary.
 * Written once here so every backend file clones for the same targets. */
#ifndef HYSCALE_BACKEND_CPU_CLONES_H
#define HYSCALE_BACKEND_CPU_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HS_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define HS_CLONES
#endif

#endif

/* hd.h: HS_HD marks math shared by the C loops and the CUDA kernels.
 * Under nvcc it is __host__ __device__; under a C compiler it is nothing. Also the shape
 * vocabulary used in every comment: B batch, T time steps, W window, F features, H hidden,
 * L layers, E environments, A actions, K horizon, N functions, M minutes. */
#ifndef HYSCALE_MATH_HD_H
#define HYSCALE_MATH_HD_H

#ifdef __CUDACC__
#define HS_HD __host__ __device__
#else
#define HS_HD
#endif

#endif

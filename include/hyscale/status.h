/* status.h: hs_status codes and the error message every failure carries.
 *
 * Library functions return hs_status (0 = ok). On failure they first record a message naming
 * the file, line and field through hs_error_set(); the CLI prints hs_error_message() and exits
 * with hs_status_exit_code(). A broken invariant (a caller's bug) is HS_ASSERT instead.
 *
 *     hs_status st = hs_trace_open(path, &r);
 *     if (st) { fprintf(stderr, "hyscale: %s\n", hs_error_message()); return hs_status_exit_code(st); }
 *
 * The message buffer is thread-local: each thread sees its own last error.
 */
#ifndef HYSCALE_STATUS_H
#define HYSCALE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_status {
    HS_OK = 0,
    HS_ERR_USAGE,   /* bad command line or config: exit 2 */
    HS_ERR_INPUT,   /* bad input data: exit 1 */
    HS_ERR_IO,      /* file system or network failure: exit 1 */
    HS_ERR_NOMEM,   /* allocation failed: exit 1 */
    HS_ERR_DEVICE,  /* CUDA device missing or failing: exit 1 */
    HS_ERR_INTERNAL /* unexpected failure in a library: exit 1 */
} hs_status;

/* Records a printf-style message for the current thread and returns st, so that
 * `return hs_error_set(HS_ERR_INPUT, "%s:%ld: ...", ...);` reads naturally. */
hs_status hs_error_set(hs_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The current thread's last message ("" when none). Owned by the library; valid until the next
 * hs_error_set on this thread. */
const char *hs_error_message(void);
void hs_error_clear(void);

/* A short name for the code ("input", "io", ...). Static string. */
const char *hs_status_name(hs_status st);

/* The process exit code for st: 0 ok, 2 usage, 1 everything else. */
int hs_status_exit_code(hs_status st);

/* Broken invariants: prints the expression, file and line, then aborts. Never for input errors. */
void hs_assert_fail(const char *expr, const char *file, int line);
#define HS_ASSERT(x) ((x) ? (void)0 : hs_assert_fail(#x, __FILE__, __LINE__))

/* Propagate a failure: HS_TRY(hs_something(...)); */
#define HS_TRY(call)                          \
    do {                                      \
        hs_status hs_try_st_ = (call);        \
        if (hs_try_st_ != HS_OK)              \
            return hs_try_st_;                \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif

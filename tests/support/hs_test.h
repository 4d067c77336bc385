/* hs_test.h: helpers shared by the Criterion tests.
 *
 * - hs_test_close(): the one float comparison helper (atol + rtol*|ref|), reporting the worst
 *   index and values (Criterion's float asserts are absolute only).
 * - hs_test_shared_data(): $HYSCALE_SHARED_DATA, else <source>/../shared/data; NULL when absent.
 * - hs_test_run(): runs the hyscale binary with arguments, capturing exit code and stderr.
 * - hs_test_tmpdir(), hs_test_scratch(): a fresh temporary folder for one test (the caller frees
 *   the first's path, the helpers the second's).
 * - hs_test_keep(): a block the helpers free at exit (test-lifetime memory, leak-clean under LSan).
 */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <stddef.h>
#include <stdint.h>

/* 1 when every |got - ref| <= atol + rtol*|ref| (NaN never passes); otherwise 0 and a message
 * naming the worst index is written to msg. */
int hs_test_close(const float *got, const float *ref, int64_t n, double atol, double rtol, char *msg, size_t cap);
int hs_test_close_d(const double *got, const double *ref, int64_t n, double atol, double rtol, char *msg,
                    size_t cap);

/* The shared data folder, or NULL (and a message on stderr) when it is absent. Static buffer. */
const char *hs_test_shared_data(void);

/* Path of a file in the shared data folder, or NULL when absent. Static buffer (one at a time). */
const char *hs_test_shared_file(const char *rel);

/* Runs `hyscale <args...>` (NULL-terminated). Returns the exit code; *err (may be NULL) gets
 * stderr's text, malloc'd, caller frees. */
int hs_test_run(char **err, const char *arg0, ...);

/* Makes a fresh temporary folder; returns a malloc'd path (caller frees), NULL on failure. */
char *hs_test_tmpdir(const char *tag);

/* hs_test_tmpdir whose path the helpers own (hs_test_keep): for a test that uses its folder to
 * the end; do not free it. */
char *hs_test_scratch(const char *tag);

/* Hands p (malloc'd, may be NULL) to these helpers, which free it when the process exits; returns
 * p. For what a test keeps for its whole life (a folder path a helper returns) so that the
 * sanitizer build's leak check sees every block freed. */
char *hs_test_keep(char *p);

/* Writes text to path (whole file). Returns 0 on success. */
int hs_test_write_file(const char *path, const char *text);

/* Reads a whole file (malloc'd, NUL-terminated) or NULL. */
char *hs_test_read_file(const char *path, size_t *len);

/* A synthetic trace generated and preprocessed under dir (dir/trace, dir/pre) keeping the top
 * `functions_kept` per-function series; returns dir/pre/series.csv (malloc'd) or NULL, with
 * the failing command's stderr on stderr. */
char *hs_test_make_series(const char *dir, int days, int functions, int functions_kept);

/* 1 when dir/name exists and is not empty. */
int hs_test_nonempty(const char *dir, const char *name);

/* Lines (newline characters) in a file, -1 when it cannot be read. */
int hs_test_count_lines(const char *path);

/* Number of entries in a folder, not counting . and .. (-1 when it does not exist). */
int hs_test_count_entries(const char *dir);

/* A fixture table written by tests/gen (a header of up to 16 names, then numbers; a `ds` column
 * also parsed as a time into ds): v (n, ncol), NAN for an empty field. */
typedef struct hs_test_rows {
    int n, ncol;
    char names[16][32];
    int64_t *ds;
    double *v;
} hs_test_rows;
/* 0, or -1 when the file cannot be read, is empty or has a `ds` that is no time. */
int hs_test_rows_read(const char *path, hs_test_rows *fr);
/* The index of column name, or -1. */
int hs_test_rows_col(const hs_test_rows *fr, const char *name);
void hs_test_rows_free(hs_test_rows *fr);

#endif

/* outfiles.h: a set of output files that appear together or not at all.
 *
 * Every file is written under a temporary name in the target folder and renamed into place by
 * hs_outset_commit(); hs_outset_abort() (or freeing an uncommitted set) removes the temporary
 * files and the folder itself when the set created it and left it empty. So a failed run leaves
 * no partial output behind. A temporary name is `.<name>.tmp.<pid>`; a process killed before
 * it could abort leaves those behind, and the next hs_outset_open() of the folder removes the
 * ones whose pid is no longer alive (never another live process's). Files are not fsync'd: a
 * rename is atomic against a crash of the process, not against a power cut.
 *
 *     hs_outset *os;
 *     HS_TRY(hs_outset_open("out/run1", &os));
 *     FILE *f; const char *tmp;
 *     if ((st = hs_outset_file(os, "series.csv", &f, &tmp))) goto fail;  // write to f
 *     if ((st = hs_outset_path(os, "series.png", &tmp))) goto fail;     // a library writes tmp
 *     st = hs_outset_commit(os);
 * fail:
 *     hs_outset_free(os);   // aborts when not committed
 */
#ifndef HYSCALE_OUTFILES_H
#define HYSCALE_OUTFILES_H

#include <stdio.h>

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_outset hs_outset;

/* Creates dir (and its parents) when missing. *out is freed with hs_outset_free. */
hs_status hs_outset_open(const char *dir, hs_outset **out);

/* Opens a temporary file for `name` inside the folder. The set owns *f (closed on commit or
 * abort; don't fclose it) and *tmp_path (may be NULL). */
hs_status hs_outset_file(hs_outset *os, const char *name, FILE **f, const char **tmp_path);

/* Reserves a temporary path for `name` for code that writes by path (PLplot, libarchive).
 * The set owns *tmp_path. */
hs_status hs_outset_path(hs_outset *os, const char *name, const char **tmp_path);

/* The final path of `name` in the folder (static buffer per call site is not used: returns a
 * pointer owned by the set, valid until hs_outset_free). */
const char *hs_outset_final_path(hs_outset *os, const char *name);

/* The folder. Owned by the set. */
const char *hs_outset_dir(const hs_outset *os);

/* Flushes and closes every file (checking for write errors), then renames all into place. */
hs_status hs_outset_commit(hs_outset *os);

/* Removes every temporary file (and the folder when this set created it and it is empty). */
void hs_outset_abort(hs_outset *os);

/* Aborts when not committed, then frees. NULL does nothing. */
void hs_outset_free(hs_outset *os);

/* Removes dir's regular files named `.<name>.tmp.<pid>` whose pid is not alive (kill(pid, 0)
 * fails with ESRCH); this process's own and a live process's are kept. Returns how many were
 * removed. hs_outset_open() calls it on a folder that already existed. */
int hs_outset_clean_stale(const char *dir);

/* mkdir -p. */
hs_status hs_mkdir_p(const char *dir);

/* Every output number is finite, or the run fails naming why: HS_OK when v[0..n) are finite,
 * else HS_ERR_INTERNAL "path:line: column C (name): non-finite value 'nan' (not written)", where
 * value i sits in column first_col + i (1-based) named names[i]. A writer calls it on a row before
 * it prints the row. */
hs_status hs_out_check_finite(const char *path, int64_t line, int first_col, const char *const *names, const double *v,
                              int n);

#ifdef __cplusplus
}
#endif
#endif

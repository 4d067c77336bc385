/* options.c: flags and JSON config for every subcommand (cli.h). A config file's keys are the
 * flags' names; flags given on the command line override them. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hyscale/manifest.h"
#include "hyscale/parse.h"

static void hs_cli_help(const hs_cli *c, FILE *f)
{
    fprintf(f, "usage: hyscale %s %s\n\n%s\n\noptions:\n", c->cmd, c->usage, c->summary);
    for (int i = 0; i < c->nopts; i++) {
        const hs_opt *o = &c->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "",
                 o->type == HS_OPT_LIST ? "..." : "");
        if (strlen(left) > 26)
            fprintf(f, "  %s\n  %-26s %s\n", left, "", o->help);
        else
            fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "  %-26s %s\n", "--config FILE.json", "read any of these options from a JSON object; flags override");
    fprintf(f, "  %-26s %s\n", "--help", "this text");
}

static hs_opt *hs_cli_find(hs_cli *c, const char *name, size_t len)
{
    for (int i = 0; i < c->nopts; i++) {
        const char *n = c->opts[i].name;
        if (strlen(n) != len)
            continue;
        size_t k = 0;
        for (; k < len; k++) {
            char a = n[k], b = name[k];
            if (a != b && !((a == '-' && b == '_') || (a == '_' && b == '-')))
                break;
        }
        if (k == len)
            return &c->opts[i];
    }
    return NULL;
}

static int hs_cli_set_text(const hs_cli *c, hs_opt *o, const char *v, const char *where)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case HS_OPT_STR:
        *(const char **)o->ptr = v;
        return 0;
    /* numbers as every reader takes them (parse.h): plain decimal, whole, in range; no hex, inf,
     * nan or spaces */
    case HS_OPT_INT: {
        int64_t x;
        if (hs_parse_int(v, strlen(v), -2147483647LL, 2147483647LL, &x))
            break;
        *(int *)o->ptr = (int)x;
        return 0;
    }
    case HS_OPT_I64: {
        int64_t x;
        if (hs_parse_int(v, strlen(v), INT64_MIN, INT64_MAX, &x))
            break;
        *(int64_t *)o->ptr = x;
        return 0;
    }
    case HS_OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno)
            break;
        *(uint64_t *)o->ptr = (uint64_t)x;
        return 0;
    }
    case HS_OPT_DOUBLE: {
        double x;
        if (hs_parse_real(v, strlen(v), -DBL_MAX, DBL_MAX, &x))
            break;
        *(double *)o->ptr = x;
        return 0;
    }
    default:
        break;
    }
    fprintf(stderr, "hyscale %s: %s--%s '%s': expected %s\n", c->cmd, where, o->name, v,
            o->type == HS_OPT_DOUBLE ? "a number" : o->type == HS_OPT_U64 ? "a non-negative integer" : "an integer");
    return -1;
}

/* What the parser allocates (list arrays, strings from a config file) lives as long as the
 * process; it is released at exit so leak checkers see a clean run. */
static void **hs_cli_owned;
static int hs_cli_nowned;

static void hs_cli_release(void)
{
    for (int i = 0; i < hs_cli_nowned; i++)
        free(hs_cli_owned[i]);
    free(hs_cli_owned);
    hs_cli_owned = NULL;
    hs_cli_nowned = 0;
}

/* Records p for release at exit (in slot `slot` when it is >= 0: a block that moved); returns p. */
static void *hs_cli_own(int slot, void *p)
{
    if (!p)
        return NULL;
    if (slot >= 0) {
        hs_cli_owned[slot] = p;
        return p;
    }
    if (hs_cli_nowned == 0)
        atexit(hs_cli_release);
    void **o = realloc(hs_cli_owned, (size_t)(hs_cli_nowned + 1) * sizeof *o);
    if (!o)
        return p; /* not released: harmless at exit */
    hs_cli_owned = o;
    hs_cli_owned[hs_cli_nowned++] = p;
    return p;
}

static char *hs_cli_strdup(const char *s) { return hs_cli_own(-1, strdup(s)); }

static int hs_list_push(hs_strlist *l, char *s)
{
    int slot = -1;
    for (int i = 0; l->v && i < hs_cli_nowned; i++)
        if (hs_cli_owned[i] == (void *)l->v)
            slot = i;
    char **v = realloc(l->v, (size_t)(l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = hs_cli_own(slot, v);
    l->v[l->n++] = s;
    return 0;
}

static int hs_cli_load_config(hs_cli *c, const char *path)
{
    cJSON *j;
    hs_status st = hs_json_read(path, &j);
    if (st) {
        fprintf(stderr, "hyscale %s: --config: %s\n", c->cmd, hs_error_message());
        return -1;
    }
    int bad = !cJSON_IsObject(j);
    if (bad)
        fprintf(stderr, "hyscale %s: --config %s: expected a JSON object\n", c->cmd, path);
    char where[512];
    snprintf(where, sizeof where, "--config %s: ", path);
    for (cJSON *e = j ? j->child : NULL; e && !bad; e = e->next) {
        hs_opt *o = hs_cli_find(c, e->string, strlen(e->string));
        if (!o) {
            fprintf(stderr, "hyscale %s: --config %s: unknown key '%s' (see hyscale %s --help)\n", c->cmd, path,
                    e->string, c->cmd);
            bad = 1;
        } else if (o->type == HS_OPT_FLAG && cJSON_IsBool(e)) {
            *(int *)o->ptr = cJSON_IsTrue(e);
        } else if (o->type == HS_OPT_LIST && (cJSON_IsArray(e) || cJSON_IsString(e))) {
            hs_strlist *l = o->ptr;
            l->n = 0;
            cJSON *it = cJSON_IsArray(e) ? e->child : e;
            for (; it && !bad; it = cJSON_IsArray(e) ? it->next : NULL)
                bad = !cJSON_IsString(it) || hs_list_push(l, hs_cli_strdup(it->valuestring));
            if (bad)
                fprintf(stderr, "hyscale %s: --config %s: '%s' must be a string or a list of strings\n", c->cmd, path,
                        e->string);
        } else if (cJSON_IsString(e) && o->type != HS_OPT_FLAG && o->type != HS_OPT_LIST) {
            bad = hs_cli_set_text(c, o, hs_cli_strdup(e->valuestring), where) != 0;
        } else if (cJSON_IsNumber(e) && o->type != HS_OPT_FLAG && o->type != HS_OPT_LIST && o->type != HS_OPT_STR) {
            char num[64];
            snprintf(num, sizeof num, "%.17g", e->valuedouble);
            bad = hs_cli_set_text(c, o, hs_cli_strdup(num), where) != 0;
        } else {
            fprintf(stderr, "hyscale %s: --config %s: '%s' has the wrong type\n", c->cmd, path, e->string);
            bad = 1;
        }
    }
    cJSON_Delete(j);
    return bad ? -1 : 0;
}

int hs_cli_parse(hs_cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            hs_cli_help(c, stdout);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hyscale %s: --config needs a FILE.json\n", c->cmd);
                return 2;
            }
            if (hs_cli_load_config(c, argv[i + 1]))
                return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (c->positional.n >= c->max_positional) {
                fprintf(stderr, "hyscale %s: unexpected argument '%s' (see hyscale %s --help)\n", c->cmd, a, c->cmd);
                return 2;
            }
            hs_list_push(&c->positional, argv[i]);
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        hs_opt *o = hs_cli_find(c, name, len);
        if (!o) {
            fprintf(stderr, "hyscale %s: unknown option '%s' (see hyscale %s --help)\n", c->cmd, a, c->cmd);
            return 2;
        }
        if (o->type == HS_OPT_FLAG) {
            *(int *)o->ptr = 1;
            continue;
        }
        if (o->type == HS_OPT_LIST) {
            hs_strlist *l = o->ptr;
            l->n = 0; /* flags override the config's list */
            if (eq)
                hs_list_push(l, (char *)eq + 1);
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                hs_list_push(l, argv[++i]);
            if (l->n == 0) {
                fprintf(stderr, "hyscale %s: --%s needs at least one %s\n", c->cmd, o->name, o->metavar);
                return 2;
            }
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hyscale %s: --%s needs a value (%s)\n", c->cmd, o->name, o->metavar);
                return 2;
            }
            v = argv[++i];
        }
        if (hs_cli_set_text(c, o, v, ""))
            return 2;
    }
    return -1;
}

cJSON *hs_cli_config_json(const hs_cli *c)
{
    cJSON *j = cJSON_CreateObject();
    for (int i = 0; i < c->nopts; i++) {
        const hs_opt *o = &c->opts[i];
        switch (o->type) {
        case HS_OPT_STR: {
            const char *s = *(const char *const *)o->ptr;
            if (s)
                cJSON_AddStringToObject(j, o->name, s);
            else
                cJSON_AddNullToObject(j, o->name);
            break;
        }
        case HS_OPT_INT: cJSON_AddNumberToObject(j, o->name, *(const int *)o->ptr); break;
        case HS_OPT_I64: cJSON_AddNumberToObject(j, o->name, (double)*(const int64_t *)o->ptr); break;
        case HS_OPT_U64: cJSON_AddNumberToObject(j, o->name, (double)*(const uint64_t *)o->ptr); break;
        case HS_OPT_DOUBLE: cJSON_AddNumberToObject(j, o->name, *(const double *)o->ptr); break;
        case HS_OPT_FLAG: cJSON_AddBoolToObject(j, o->name, *(const int *)o->ptr); break;
        case HS_OPT_LIST: {
            const hs_strlist *l = o->ptr;
            cJSON *a = cJSON_AddArrayToObject(j, o->name);
            for (int k = 0; k < l->n; k++)
                cJSON_AddItemToArray(a, cJSON_CreateString(l->v[k]));
            break;
        }
        }
    }
    return j;
}

int hs_cli_fail(hs_status st)
{
    fprintf(stderr, "hyscale: %s\n", hs_error_message()[0] ? hs_error_message() : hs_status_name(st));
    return hs_status_exit_code(st);
}

int hs_cli_usage_fail(const hs_cli *cli)
{
    fprintf(stderr, "hyscale %s: %s\n", cli->cmd, hs_error_message());
    return 2;
}

int hs_cli_calendar(const hs_cli *cli, int *calendar, int no_calendar)
{
    if (no_calendar && *calendar == 1) {
        fprintf(stderr, "hyscale %s: --calendar and --no-calendar: choose one\n", cli->cmd);
        return 2;
    }
    if (no_calendar)
        *calendar = 0;
    return -1;
}

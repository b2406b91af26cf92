/* config: an experiment's YAML tree walked into a validated struct experiment.
 *
 * A section is parsed by walking the YAML map once against the schema table
 * (config_schema.c) — unknown keys, keys that do not apply to this data
 * format or learner kind — then filling every key of the section from the
 * map or from the table's default, which is YAML text parsed by the same
 * code as user input. Cross-field rules (a target's data exists,
 * record_steps ≤ steps, …) follow; they look the offending value up in the
 * tree again so their messages point at it. Rules that need the data itself
 * (class ids exist, classes do not overlap) are checked by the runner when
 * it loads the data, with the locations kept here.
 * Not here: the key table, parsing one value, the help text
 * (config_schema.c); loading data, planning units, sweeps' variant
 * expansion (plan.c). */
#include "harness/config.h"
#include "harness/config_internal.h"
#include "harness/probe.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sections ---- */

static int missing(const struct key *k, const struct yt_node *at, const char *prefix, struct err *e)
{
    char type[512];
    if (k->type == K_KIND)   /* the choices say more than the help */
        config_type_text(k, type, sizeof type);
    return yt_error(e, ERR_USAGE, at, prefix, "missing required key \"%s\" (%s)", k->name,
                    k->type == K_KIND ? type : k->help);
}

/* The value of one key from map m (may be NULL) or, when absent, from its
 * default for word (the entry's format or kind). */
static int fill_key(const struct key *k, const struct yt_node *m, const struct yt_node *at,
                    const char *prefix, char *base, const char *word, struct err *e)
{
    char path[PATH_LEN];
    config_join(path, prefix, k->name);
    const struct yt_node *n = yt_get(m, k->name);
    const char *def = config_key_default(k, word);
    if (n)
        return config_parse_value(k, n, path, base, e);
    if (!def)
        return missing(k, at, prefix, e);
    if (!def[0] || def[0] == '=')   /* none, or another key's value (resolve_copies) */
        return ERR_OK;
    struct yt_doc d = {0};
    int rc = yt_load_string("<default>", def, &d, e);
    if (!rc)
        rc = config_parse_value(k, d.root, path, base, e);
    yt_free(&d);
    return rc;
}

/* Parse map m (NULL or null: every default) of section sec into base; at
 * locates a missing key when m is absent. word (a data format or learner
 * kind) selects the keys that apply; what names the thing for messages
 * ("a learner of kind"). */
static int parse_section(int sec, const struct yt_node *m, const struct yt_node *at,
                         const char *prefix, char *base, const char *word, const char *what,
                         struct err *e)
{
    char path[PATH_LEN];
    int rc = ERR_OK;
    if (m && yt_is_null(m))
        m = NULL;
    if (m && m->kind != YT_MAP)
        return config_not_a_map(m, prefix, e);
    for (int i = 0; m && i < m->n_items; i++) {
        const struct key *k = config_find_key(sec, m->keys[i]);
        config_join(path, prefix, m->keys[i]);
        if (!k || (word && !config_applies(k->only, word)))
            return config_unknown_key(sec, m->keys[i], m->key_nodes[i], path, word, what, e);
    }
    if (m)
        at = m;
    int n_keys;
    const struct key *keys = config_keys(&n_keys);
    for (int i = 0; !rc && i < n_keys; i++) {
        const struct key *k = &keys[i];
        if (k->sec != sec || (word && !config_applies(k->only, word)))
            continue;
        if (k->type == K_SUB) {
            config_join(path, prefix, k->name);
            rc = parse_section(k->sub, yt_get(m, k->name), at, path, base + k->off, word, what, e);
        } else if (k->type != K_MAP) {
            rc = fill_key(k, m, at, prefix, base, word, e);
        } else if (!k->def && !yt_get(m, k->name)) {
            rc = missing(k, at, prefix, e);
        }
    }
    return rc;
}

/* Learner keys left at a default "=k" take the value of key k ("x" or
 * "meta.x") of the same learner, as parsed: a test-time step count that
 * follows the meta-training's inner loop unless set. */
static void resolve_copies(const struct yt_node *m, struct cfg_learner *l, const char *kind)
{
    int n;
    const struct key *keys = config_keys(&n);
    for (int i = 0; i < n; i++) {
        const struct key *k = &keys[i];
        const char *def = (k->sec == S_LEARNER || k->sec == S_META) ? config_key_default(k, kind)
                                                                   : NULL;
        if (!def || def[0] != '=')
            continue;
        const struct yt_node *in = k->sec == S_META ? yt_get(m, "meta") : m;
        if (yt_get(in, k->name))
            continue;   /* set by the user */
        const struct key *from = strncmp(def + 1, "meta.", 5) == 0
                                     ? config_find_key(S_META, def + 6)
                                     : config_find_key(S_LEARNER, def + 1);
        assert(from && from->type == k->type);   /* the registry's tests check it */
        const struct key *meta = config_find_key(S_LEARNER, "meta");
        char *base = (char *)l, *meta_base = meta ? base + meta->off : base;
        char *dst = (k->sec == S_META ? meta_base : base) + k->off;
        const char *src = (from->sec == S_META ? meta_base : base) + from->off;
        memcpy(dst, src, k->type == K_NUM ? sizeof(double) : k->type == K_ENUM ? sizeof(int)
                                                                                 : sizeof(long));
    }
}

/* A named section (data.<name>, learners.<name>): the discriminating key
 * (format, kind) first, then the keys that apply to it. */
static int parse_named(int sec, const struct yt_node *m, const char *prefix, char *base,
                       struct err *e)
{
    const struct key *k = config_find_key(sec, sec == S_DATA ? "format" : "kind");
    int rc;
    if (m->kind != YT_MAP)
        return config_not_a_map(m, prefix, e);
    if ((rc = fill_key(k, m, m, prefix, base, NULL, e)))
        return rc;
    int v = *(int *)(base + k->off);
    const char *word = sec == S_DATA ? config_formats[v] : sec == S_PROBE ? probe_kinds[v]
                                                                          : learner_kinds[v]->name;
    rc = parse_section(sec, m, m, prefix, base, word,
                       sec == S_DATA    ? "a data source of format"
                       : sec == S_PROBE ? "a probe of kind"
                                        : "a learner of kind", e);
    if (!rc && sec == S_LEARNER)
        resolve_copies(m, (struct cfg_learner *)base, word);
    return rc;
}

/* Names become directory names and fields of unit descriptions. */
static bool valid_name(const char *s)
{
    return s[0] && !strpbrk(s, "/,\"") && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int bad_name(const struct yt_node *n, const char *path, struct err *e)
{
    return yt_error(e, ERR_USAGE, n, path, "\"%s\" is not a valid name (a name is not empty, has "
                    "no '/', ',' or '\"', and is not \".\" or \"..\")", n->value);
}

/* m must be a non-empty map of at most CFG_MAX_LIST well-named entries. */
static int check_named(const struct yt_node *m, const char *path, const char *noun, struct err *e)
{
    char got[128];
    assert(m);   /* parse_section refused its absence */
    if (m->kind != YT_MAP) {
        config_got_text(m, got, sizeof got);
        return yt_error(e, ERR_USAGE, m, path, "expected a map of named %ss, got %s", noun, got);
    }
    if (m->n_items == 0)
        return yt_error(e, ERR_USAGE, m, path, "expected at least one named %s, got none", noun);
    if (m->n_items > CFG_MAX_LIST)
        return yt_error(e, ERR_USAGE, m, path, "expected at most %d %ss, got %d", CFG_MAX_LIST, noun,
                        m->n_items);
    for (int i = 0; i < m->n_items; i++)
        if (!valid_name(m->keys[i]))
            return bad_name(m->key_nodes[i], path, e);
    return ERR_OK;
}

static int parse_data(const struct yt_node *m, struct experiment *x, struct err *e)
{
    int rc = check_named(m, "data", "data source", e);
    if (!rc && !(x->data = calloc((size_t)m->n_items, sizeof *x->data)))
        rc = config_nomem(e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_data *d = &x->data[x->n_data++];
        char prefix[PATH_LEN];
        config_join(prefix, "data", m->keys[i]);
        d->where = config_where_of(m->key_nodes[i]);
        if (!(d->name = config_dupstr(m->keys[i])))
            rc = config_nomem(e);
        else
            rc = parse_named(S_DATA, m->items[i], prefix, (char *)d, e);
    }
    return rc;
}

static int parse_targets(const struct yt_node *m, struct experiment *x, struct err *e)
{
    int rc = check_named(m, "targets", "target", e);
    if (!rc && !(x->targets = calloc((size_t)m->n_items, sizeof *x->targets)))
        rc = config_nomem(e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_target *t = &x->targets[x->n_targets++];
        char prefix[PATH_LEN];
        config_join(prefix, "targets", m->keys[i]);
        t->where = config_where_of(m->key_nodes[i]);
        if (!(t->name = config_dupstr(m->keys[i])))
            rc = config_nomem(e);
        else if (m->items[i]->kind != YT_MAP)
            rc = config_not_a_map(m->items[i], prefix, e);
        else
            rc = parse_section(S_TARGET, m->items[i], m->items[i], prefix, (char *)t, NULL, NULL, e);
    }
    return rc;
}

static int parse_learners(const struct yt_node *m, struct experiment *x, struct err *e)
{
    int rc = check_named(m, "learners", "learner", e);
    if (!rc && !(x->learners = calloc((size_t)m->n_items, sizeof *x->learners)))
        rc = config_nomem(e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_learner *l = &x->learners[x->n_learners++];
        char prefix[PATH_LEN];
        config_join(prefix, "learners", m->keys[i]);
        l->where = config_where_of(m->key_nodes[i]);
        optim_defaults(&l->s.optim);  /* for kinds without an optimizer's keys */
        if (!(l->name = config_dupstr(m->keys[i])))
            rc = config_nomem(e);
        else
            rc = parse_named(S_LEARNER, m->items[i], prefix, (char *)l, e);
    }
    return rc;
}

static int parse_probes(const struct yt_node *m, struct experiment *x, struct err *e)
{
    if (!m || yt_is_null(m) || (m->kind == YT_MAP && m->n_items == 0))
        return ERR_OK;
    int rc = check_named(m, "probes", "probe", e);
    if (!rc && !(x->probes = calloc((size_t)m->n_items, sizeof *x->probes)))
        rc = config_nomem(e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_probe *p = &x->probes[x->n_probes++];
        char prefix[PATH_LEN];
        config_join(prefix, "probes", m->keys[i]);
        p->where = config_where_of(m->key_nodes[i]);
        if (!(p->name = config_dupstr(m->keys[i])))
            rc = config_nomem(e);
        else
            rc = parse_named(S_PROBE, m->items[i], prefix, (char *)p, e);
    }
    return rc;
}

bool config_probe_applies(const struct cfg_probe *p, const struct cfg_learner *l)
{
    bool listed = p->n_learners == 0;
    for (int i = 0; i < p->n_learners && !listed; i++)
        listed = strcmp(p->learners[i], l->name) == 0;
    return listed && (!probe_needs_gradient(p->kind) || learner_kinds[l->s.kind]->input_grad);
}

/* ---- sweep ---- */

/* What a sweep path names: a key of section sec (k), or the whole section
 * (k NULL) — source, source.train, network, or one named entry. */
struct swept {
    int sec;
    const struct key *k;
    const char *word;          /* the entry's format or kind, for keys that apply to some */
    const char *what;
};

/* rest names an entry of section map m, maybe followed by ".key": the
 * longest matching name wins (names may hold dots). Returns its index or -1. */
static int entry_of(const struct yt_node *m, const char *rest, size_t *len)
{
    int best = -1;
    *len = 0;
    for (int i = 0; i < m->n_items; i++) {
        size_t n = strlen(m->keys[i]);
        if (strncmp(rest, m->keys[i], n) == 0 && (rest[n] == '\0' || rest[n] == '.') &&
            (best < 0 || n > *len)) {
            best = i;
            *len = n;
        }
    }
    return best;
}

static int sweep_key(int sec, const char *name, const struct yt_node *at, const char *path,
                     struct swept *r, struct err *e)
{
    const char *dot = strchr(name, '.');
    if (dot && sec == S_LEARNER) {   /* meta.x: key x of the nested section */
        char sub[PATH_LEN];
        snprintf(sub, sizeof sub, "%.*s", (int)(dot - name), name);
        const struct key *k = config_find_key(sec, sub);
        if (k && k->type == K_SUB && (!r->word || config_applies(k->only, r->word)))
            return sweep_key(k->sub, dot + 1, at, path, r, e);
    }
    r->sec = sec;
    r->k = config_find_key(sec, name);
    if (!r->k || (r->word && !config_applies(r->k->only, r->word)))
        return config_unknown_key(sec, name, at, path, r->word, r->what, e);
    return ERR_OK;
}

/* data.<name>[.key], targets.<name>[.key], learners.<name>[.key]. */
static int sweep_entry(const struct experiment *x, const struct yt_node *m, int sec,
                       const char *rest, const struct yt_node *at, const char *path,
                       struct swept *r, struct err *e)
{
    const char *noun = sec == S_DATA ? "data source" : sec == S_TARGET ? "target" : "learner";
    char first[PATH_LEN], h[128];
    size_t len;
    int i = rest ? entry_of(m, rest, &len) : -1;
    if (!rest)
        return yt_error(e, ERR_USAGE, at, path, "sweep one %s at a time (%s.<name> or one of its "
                        "keys)", noun, sec == S_DATA ? "data" : sec == S_TARGET ? "targets" : "learners");
    if (i < 0) {
        snprintf(first, sizeof first, "%.*s", (int)strcspn(rest, "."), rest);
        const char *near = yt_suggest(first, (const char *const *)m->keys, m->n_items);
        return yt_error(e, ERR_USAGE, at, path, "no %s \"%s\"%s", noun, first,
                        config_hint(near, h, sizeof h));
    }
    if (sec == S_DATA) {
        r->word = config_formats[x->data[i].format];
        r->what = "a data source of format";
    } else if (sec == S_LEARNER) {
        r->word = learner_kinds[x->learners[i].s.kind]->name;
        r->what = "a learner of kind";
    }
    r->sec = sec;
    return rest[len] ? sweep_key(sec, rest + len + 1, at, path, r, e) : ERR_OK;
}

static int sweep_resolve(const struct experiment *x, const struct yt_node *root, const char *p,
                         const struct yt_node *at, const char *path, struct swept *r,
                         struct err *e)
{
    char top[PATH_LEN];
    size_t n = strcspn(p, ".");
    const char *rest = p[n] ? p + n + 1 : NULL;
    snprintf(top, sizeof top, "%.*s", (int)n, p);
    memset(r, 0, sizeof *r);
    const struct key *k = config_find_key(S_TOP, top);
    if (!k)
        return config_unknown_key(S_TOP, top, at, path, NULL, NULL, e);
    if (strcmp(top, "name") == 0 || strcmp(top, "output") == 0 || strcmp(top, "energy") == 0)
        return yt_error(e, ERR_USAGE, at, path, "\"%s\" cannot be swept (every variant belongs to "
                        "one experiment, one results directory and one run's costs)", top);
    if (strcmp(top, "sweep") == 0 || strcmp(top, "probes") == 0)
        return yt_error(e, ERR_USAGE, at, path, "\"%s\" cannot be swept", top);
    if (k->type != K_MAP) {
        r->sec = S_TOP;
        r->k = k;
        return rest ? yt_error(e, ERR_USAGE, at, path, "%s has no keys to sweep", top) : ERR_OK;
    }
    if (strcmp(top, "network") == 0) {
        r->sec = S_NETWORK;
        return rest ? sweep_key(S_NETWORK, rest, at, path, r, e) : ERR_OK;
    }
    if (strcmp(top, "source") == 0) {
        bool train = rest && strncmp(rest, "train", 5) == 0 && (rest[5] == '.' || !rest[5]);
        r->sec = train ? S_TRAIN : S_SOURCE;
        if (!x->source.data)
            return yt_error(e, ERR_USAGE, at, path, "the experiment has no source section to sweep");
        if (train)
            return rest[5] ? sweep_key(S_TRAIN, rest + 6, at, path, r, e) : ERR_OK;
        return rest ? sweep_key(S_SOURCE, rest, at, path, r, e) : ERR_OK;
    }
    int sec = strcmp(top, "data") == 0 ? S_DATA : strcmp(top, "targets") == 0 ? S_TARGET : S_LEARNER;
    return sweep_entry(x, yt_get(root, top), sec, rest, at, path, r, e);
}

/* Room for any one section's struct. */
union section_scratch {
    struct experiment x;
    struct cfg_data d;
    struct cfg_source s;
    struct cfg_target t;
    struct cfg_learner l;
};

/* Type-check one swept value by parsing it into scratch (a zeroed block as
 * large as any section's struct), then free what that made. */
static int sweep_check(const struct swept *r, const struct yt_node *v, const char *path,
                       char *scratch, struct err *e)
{
    int rc;
    memset(scratch, 0, sizeof(union section_scratch));
    if (r->k)
        rc = config_parse_value(r->k, v, path, scratch, e);
    else if (r->sec == S_DATA || r->sec == S_LEARNER)
        rc = parse_named(r->sec, v, path, scratch, e);
    else if (v->kind != YT_MAP)
        rc = config_not_a_map(v, path, e);
    else
        rc = parse_section(r->sec, v, v, path, scratch, NULL, NULL, e);
    config_free_section(r->sec, scratch);
    return rc;
}

static int sweep_one(const struct experiment *x, const struct yt_node *root, const struct yt_node *key,
                     const struct yt_node *v, struct cfg_sweep *s, char *scratch, struct err *e)
{
    char path[PATH_LEN];
    struct swept r;
    config_join(path, "sweep", key->value);
    int rc = sweep_resolve(x, root, key->value, key, path, &r, e);
    if (rc)
        return rc;
    if (v->kind != YT_SEQ || v->n_items == 0 || v->n_items > CFG_MAX_LIST) {
        char got[128];
        config_got_text(v, got, sizeof got);
        return yt_error(e, ERR_USAGE, v, path, "expected a list of 1 to %d values, got %s",
                        CFG_MAX_LIST, v->kind == YT_SEQ ? "a list of another length" : got);
    }
    if (!(s->path = config_dupstr(key->value)) ||
        !(s->values = calloc((size_t)v->n_items, sizeof *s->values)))
        return config_nomem(e);
    for (int j = 0; !rc && j < v->n_items; j++) {
        if ((rc = sweep_check(&r, v->items[j], path, scratch, e)) ||
            (rc = yt_flow_text(v->items[j], &s->values[s->n_values], e)))
            break;
        s->n_values++;
        for (int i = 0; !rc && i < j; i++)
            if (strcmp(s->values[i], s->values[j]) == 0)
                rc = yt_error(e, ERR_USAGE, v->items[j], path, "%s is listed twice", s->values[j]);
    }
    return rc;
}

static int parse_sweep(const struct yt_node *m, const struct yt_node *root, struct experiment *x,
                       struct err *e)
{
    int max = CFG_MAX_SWEEP, rc = ERR_OK;
    char got[128];
    if (!m || yt_is_null(m) || (m->kind == YT_MAP && m->n_items == 0))
        return ERR_OK;
    config_got_text(m, got, sizeof got);
    if (m->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, m, "sweep", "expected a map of key.path: [values], got %s", got);
    if (m->n_items > max)
        return yt_error(e, ERR_USAGE, m, "sweep", "at most %d swept keys, got %d", max, m->n_items);
    char *scratch = calloc(1, sizeof(union section_scratch));
    if (!scratch || !(x->sweep = calloc((size_t)m->n_items, sizeof *x->sweep))) {
        free(scratch);
        return config_nomem(e);
    }
    for (int i = 0; !rc && i < m->n_items; i++)
        rc = sweep_one(x, root, m->key_nodes[i], m->items[i], &x->sweep[x->n_sweep++], scratch, e);
    free(scratch);
    return rc;
}

/* ---- cross-field rules ---- */

const struct cfg_data *config_data(const struct experiment *x, const char *name)
{
    for (int i = 0; i < x->n_data; i++)
        if (strcmp(x->data[i].name, name) == 0)
            return &x->data[i];
    return NULL;
}

bool config_data_regression(const struct cfg_data *d)
{
    return d->format == FMT_SINUSOID || (d->format == FMT_CSV && d->n_targets > 0);
}

/* The node of a named entry (data.<name>, targets.<name>, …); NULL when absent. */
static const struct yt_node *entry_node(const struct yt_node *root, const char *section,
                                        const char *name)
{
    return yt_get(yt_get(root, section), name);
}

/* Item i of a list node; a scalar stands for itself. */
static const struct yt_node *item_of(const struct yt_node *n, int i)
{
    return n && n->kind == YT_SEQ && i < n->n_items ? n->items[i] : n;
}

static int check_data_ref(const struct experiment *x, const char *name, const struct yt_node *at,
                          const char *path, struct err *e)
{
    const char *names[CFG_MAX_LIST];
    char list[1024], h[128];
    if (config_data(x, name))
        return ERR_OK;
    for (int i = 0; i < x->n_data; i++)
        names[i] = x->data[i].name;
    const char *near = yt_suggest(name, names, x->n_data);
    if (near)
        return yt_error(e, ERR_USAGE, at, path, "no data source \"%s\"%s", name,
                        config_hint(near, h, sizeof h));
    config_list_words(names, x->n_data, " and ", list, sizeof list);
    return yt_error(e, ERR_USAGE, at, path, "no data source \"%s\" (%s %s)", name,
                    x->n_data == 1 ? "the only one is" : "the data sources are", list);
}

static int check_idx(const struct cfg_data *d, const struct yt_node *m, const char *prefix,
                     struct err *e)
{
    static const char *const files[] = {"images", "labels", "test_images", "test_labels"};
    char path[PATH_LEN];
    for (int i = 0; d->dir && i < 4; i++)
        if (yt_get(m, files[i])) {
            config_join(path, prefix, files[i]);
            return yt_error(e, ERR_USAGE, yt_get(m, files[i]), path, "give dir or the files "
                            "(images, labels, test_images, test_labels), not both");
        }
    if (!d->dir && !(d->images && d->labels))
        return yt_error(e, ERR_USAGE, m, prefix, "an idx source needs dir, or images and labels");
    if (!d->test_images != !d->test_labels) {
        config_join(path, prefix, d->test_images ? "test_images" : "test_labels");
        return yt_error(e, ERR_USAGE, yt_get(m, d->test_images ? "test_images" : "test_labels"), path,
                        "test_images and test_labels go together; give both or neither");
    }
    return ERR_OK;
}

static int check_data(const struct cfg_data *d, const struct yt_node *root, struct err *e)
{
    const struct yt_node *m = entry_node(root, "data", d->name);
    char prefix[PATH_LEN], path[PATH_LEN];
    config_join(prefix, "data", d->name);
    if (d->format == FMT_IDX)
        return check_idx(d, m, prefix, e);
    if (d->format == FMT_CSV && d->label && d->n_targets) {
        config_join(path, prefix, "targets");
        return yt_error(e, ERR_USAGE, yt_get(m, "targets"), path, "a csv source has either label "
                        "(classification) or targets (regression), not both");
    }
    if (d->format == FMT_CSV && !d->label && !d->n_targets)
        return yt_error(e, ERR_USAGE, m, prefix, "a csv source needs label (classification) or "
                        "targets (regression)");
    return ERR_OK;
}

/* Settings of the other optimizer would be silently ignored: momentum is
 * SGD's, beta1, beta2 and epsilon Adam's; Adam's decays must stay below 1
 * (a decay of 1 never forgets, and its bias correction divides by zero). */
static int check_optimizer(const struct optim_settings *o, const struct yt_node *m,
                           const char *prefix, struct err *e)
{
    static const char *const adam_only[] = {"beta1", "beta2", "epsilon"};
    const double betas[2] = {o->beta1, o->beta2};
    char path[PATH_LEN];
    if (o->kind == OPTIM_ADAM && o->momentum != 0) {
        config_join(path, prefix, "momentum");
        return yt_error(e, ERR_USAGE, yt_get(m, "momentum"), path,
                        "momentum applies to sgd only, and the optimizer here is adam");
    }
    for (int i = 0; i < 3; i++) {
        const struct yt_node *n = yt_get(m, adam_only[i]);
        config_join(path, prefix, adam_only[i]);
        if (n && o->kind != OPTIM_ADAM)
            return yt_error(e, ERR_USAGE, n, path, "%s applies to adam only, and the optimizer "
                            "here is sgd", adam_only[i]);
        if (n && i < 2 && betas[i] >= 1)
            return yt_error(e, ERR_USAGE, n, path, "expected a number in [0, 1), got %g",
                            betas[i]);
    }
    return ERR_OK;
}

/* The source recipe's optimizer, as the pretraining will run it. */
static struct optim_settings train_optim(const struct cfg_train *t)
{
    struct optim_settings o;
    optim_defaults(&o);
    o.kind = (enum optim_kind)t->optimizer, o.lr = t->lr, o.momentum = t->momentum;
    o.weight_decay = t->weight_decay, o.beta1 = t->beta1, o.beta2 = t->beta2;
    o.eps = t->epsilon;
    return o;
}

/* A rule shared by source and targets: a regression source has no classes,
 * a csv source only a train split. */
static int check_use(const struct cfg_data *d, const struct yt_node *m, const char *prefix,
                     const char *split, struct err *e)
{
    char path[PATH_LEN];
    if (config_data_regression(d) && yt_get(m, "classes")) {
        config_join(path, prefix, "classes");
        return yt_error(e, ERR_USAGE, yt_get(m, "classes"), path, "data source \"%s\" is a "
                        "regression task, which has no classes", d->name);
    }
    if (d->format == FMT_CSV && strcmp(split, "train") != 0) {
        config_join(path, prefix, "split");
        return yt_error(e, ERR_USAGE, yt_get(m, "split"), path, "data source \"%s\" is a csv file, "
                        "which has only a train split", d->name);
    }
    return ERR_OK;
}

static int check_source(const struct experiment *x, const struct yt_node *root, struct err *e)
{
    const struct yt_node *m = yt_get(root, "source");
    const struct cfg_source *s = &x->source;
    int rc = check_data_ref(x, s->data, yt_get(m, "data"), "source.data", e);
    if (!rc)
        rc = check_use(config_data(x, s->data), m, "source", s->split, e);
    if (!rc) {
        struct optim_settings o = train_optim(&s->train);
        rc = check_optimizer(&o, yt_get(m, "train"), "source.train", e);
    }
    return rc;
}

/* ways against the classes a target can draw from, when known before loading. */
static int check_ways(const struct cfg_target *t, const struct cfg_data *d,
                      const struct yt_node *m, const char *prefix, struct err *e)
{
    char path[PATH_LEN];
    const struct yt_node *ways = yt_get(m, "ways");
    config_join(path, prefix, ways ? "ways" : "classes");
    if (t->classes.n > 0 && t->classes.n < t->ways)
        return yt_error(e, ERR_USAGE, ways ? ways : yt_get(m, "classes"), path, "%ld ways need at "
                        "least %ld classes, but classes lists %d", t->ways, t->ways, t->classes.n);
    config_join(path, prefix, "ways");
    if (d->format == FMT_CLUSTERS && d->classes < t->ways)
        return yt_error(e, ERR_USAGE, ways ? ways : m, ways ? path : prefix, "%ld ways need at "
                        "least %ld classes, but data source \"%s\" has %ld", t->ways, t->ways,
                        d->name, d->classes);
    return ERR_OK;
}

static int check_target(const struct experiment *x, struct cfg_target *t, const struct yt_node *root,
                        struct err *e)
{
    const struct yt_node *m = entry_node(root, "targets", t->name);
    char prefix[PATH_LEN], path[PATH_LEN];
    config_join(prefix, "targets", t->name);
    config_join(path, prefix, "data");
    int rc = check_data_ref(x, t->data, yt_get(m, "data"), path, e);
    if (rc)
        return rc;
    const struct cfg_data *d = config_data(x, t->data);
    if (d->format == FMT_CSV && !yt_get(m, "split")) {  /* a csv target's default split */
        free(t->split);
        if (!(t->split = config_dupstr("train")))
            return config_nomem(e);
    }
    if ((rc = check_use(d, m, prefix, t->split, e)))
        return rc;
    config_join(path, prefix, "ways");
    if (config_data_regression(d) && yt_get(m, "ways"))
        return yt_error(e, ERR_USAGE, yt_get(m, "ways"), path, "data source \"%s\" is a regression "
                        "task, which has no ways", d->name);
    if (!config_data_regression(d) && (rc = check_ways(t, d, m, prefix, e)))
        return rc;
    config_join(path, prefix, "rotate");
    if (t->rotate != 0 && d->format != FMT_IDX)
        return yt_error(e, ERR_USAGE, yt_get(m, "rotate"), path, "rotation needs images (an idx "
                        "source), but \"%s\" is %s data", d->name, config_formats[d->format]);
    config_join(path, prefix, "permute");
    if (t->permute && d->format == FMT_SINUSOID)
        return yt_error(e, ERR_USAGE, yt_get(m, "permute"), path, "a sinusoid task has one input, "
                        "so there is nothing to permute");
    return ERR_OK;
}

static int check_freeze(const struct experiment *x, const struct cfg_learner *l,
                        const struct yt_node *m, struct err *e)
{
    const struct learner_settings *s = &l->s;
    const struct yt_node *f = yt_get(m, "freeze");
    int head = x->n_hidden;   /* layers 0..n_hidden; the last is the head */
    char path[PATH_LEN];
    if (s->freeze != FREEZE_LAYERS)
        return ERR_OK;
    snprintf(path, sizeof path, "learners.%s.freeze", l->name);
    for (int i = 0; i < s->n_frozen; i++)
        if (s->frozen[i] > head)
            return yt_error(e, ERR_USAGE, item_of(f, i), path, "layer %ld does not exist (the "
                            "network has layers 0 to %d, %d being the head)", s->frozen[i], head, head);
    if (s->n_frozen == head + 1)
        return yt_error(e, ERR_USAGE, f, path, "every layer (0 to %d) is frozen, so nothing would "
                        "be trained", head);
    for (int i = 0; i < s->n_frozen; i++)
        if (s->frozen[i] == head && s->head == INIT_ZERO)
            return yt_error(e, ERR_USAGE, item_of(f, i), path, "a frozen head (layer %d) stays at "
                            "its zero initialisation, so every score would be 0 (set head: torch, "
                            "he or glorot, or leave layer %d trainable)", head, head);
    return ERR_OK;
}

static int check_learner(const struct experiment *x, const struct cfg_learner *l,
                         const struct yt_node *root, struct err *e)
{
    const struct learner_kind *k = learner_kinds[l->s.kind];
    const struct yt_node *m = entry_node(root, "learners", l->name);
    const struct yt_node *rs = yt_get(m, "record_steps"), *kind = yt_get(m, "kind");
    char prefix[PATH_LEN], path[PATH_LEN];
    config_join(prefix, "learners", l->name);
    config_join(path, prefix, "record_steps");
    for (int i = 0; i < l->s.n_record; i++)
        if (l->s.record_steps[i] > l->s.steps)
            return yt_error(e, ERR_USAGE, item_of(rs, i), path, "step %ld is after the last step "
                            "(steps: %ld)", l->s.record_steps[i], l->s.steps);
    int rc = check_optimizer(&l->s.optim, m, prefix, e);
    if (rc || (rc = check_freeze(x, l, m, e)))
        return rc;
    config_join(path, prefix, "kind");
    if (k->pretraining(&l->s) != PRETRAIN_NONE && !x->source.data)
        return yt_error(e, ERR_USAGE, kind, path, "a %s learner reuses a pretrained network, but the "
                        "experiment has no source section%s", k->name, k->no_source_hint);
    for (int t = 0; k->classification_only && t < x->n_targets; t++)
        if (config_data_regression(config_data(x, x->targets[t].data)))
            return yt_error(e, ERR_USAGE, kind, path, "a %s learner classifies, but target \"%s\" is "
                            "a regression task", k->name, x->targets[t].name);
    return ERR_OK;
}

int config_baseline(const struct experiment *x, char *why, size_t cap)
{
    if (x->baseline) {
        for (int i = 0; i < x->n_learners; i++)
            if (strcmp(x->learners[i].name, x->baseline) == 0)
                return i;
        assert(!"validated");
    }
    int found = -1, n = 0, kind = -1;
    for (int k = 0; k < learner_n_kinds; k++)
        if (learner_kinds[k]->baseline)
            kind = k;
    for (int i = 0; i < x->n_learners; i++)
        if (learner_kinds[x->learners[i].s.kind]->baseline)
            found = i, n++;
    if (why && n != 1)
        snprintf(why, cap, "%s learners are of kind %s and baseline: names none",
                 n == 0 ? "no" : "several", kind >= 0 ? learner_kinds[kind]->name : "-");
    return n == 1 ? found : -1;
}

/* baseline: names a learner. */
static int check_baseline(const struct experiment *x, const struct yt_node *root, struct err *e)
{
    if (!x->baseline)
        return ERR_OK;
    const char *names[CFG_MAX_LIST];
    char list[1024], h[128];
    for (int i = 0; i < x->n_learners; i++) {
        if (strcmp(x->learners[i].name, x->baseline) == 0)
            return ERR_OK;
        names[i] = x->learners[i].name;
    }
    const struct yt_node *at = yt_get(root, "baseline");
    const char *near = yt_suggest(x->baseline, names, x->n_learners);
    if (near)
        return yt_error(e, ERR_USAGE, at, "baseline", "no learner \"%s\"%s", x->baseline,
                        config_hint(near, h, sizeof h));
    config_list_words(names, x->n_learners, " and ", list, sizeof list);
    return yt_error(e, ERR_USAGE, at, "baseline", "no learner \"%s\" (%s %s)", x->baseline,
                    x->n_learners == 1 ? "the only one is" : "the learners are", list);
}

/* A probe's learners exist; some target classifies. */
static int check_probe(const struct experiment *x, const struct cfg_probe *p,
                       const struct yt_node *root, struct err *e)
{
    char path[PATH_LEN];
    const struct yt_node *m = entry_node(root, "probes", p->name);
    for (int i = 0; i < p->n_learners; i++) {
        bool found = false;
        for (int l = 0; l < x->n_learners && !found; l++)
            found = strcmp(x->learners[l].name, p->learners[i]) == 0;
        if (!found) {
            config_join(path, "probes", p->name);
            config_join(path, path, "learners");
            return yt_error(e, ERR_USAGE, item_of(yt_get(m, "learners"), i), path,
                            "no learner \"%s\"", p->learners[i]);
        }
    }
    if (p->cue_in_source) {
        const struct cfg_data *d = x->source.data ? config_data(x, x->source.data) : NULL;
        if (!d || d->format != FMT_IDX || config_data_regression(d)) {
            config_join(path, "probes", p->name);
            config_join(path, path, "cue_in_source");
            return yt_error(e, ERR_USAGE, yt_get(m, "cue_in_source"), path, "the source's "
                            "images carry cues only when the source is idx data");
        }
    }
    for (int t = 0; probe_needs_images(p->kind) && t < x->n_targets; t++) {
        const struct cfg_data *d = config_data(x, x->targets[t].data);
        if (!config_data_regression(d) && d->format != FMT_IDX) {
            config_join(path, "probes", p->name);
            return yt_error(e, ERR_USAGE, m, path, "a %s probe needs images (idx data), and "
                            "target \"%s\" draws from %s data", probe_kinds[p->kind],
                            x->targets[t].name, config_formats[d->format]);
        }
    }
    for (int t = 0; t < x->n_targets; t++)
        if (!config_data_regression(config_data(x, x->targets[t].data)))
            return ERR_OK;
    config_join(path, "probes", p->name);
    return yt_error(e, ERR_USAGE, m, path, "a %s probe needs a classification target, and every "
                    "target is a regression task", probe_kinds[p->kind]);
}

static int validate(struct experiment *x, const struct yt_node *root, struct err *e)
{
    /* the data, source and targets first: the baseline's and the probes'
     * checks look up the data the targets name (an input the fuzzer found:
     * a probe beside a target naming data that does not exist) */
    int rc = ERR_OK;
    for (int i = 0; !rc && i < x->n_data; i++)
        rc = check_data(&x->data[i], root, e);
    if (!rc && x->source.data)
        rc = check_source(x, root, e);
    for (int i = 0; !rc && i < x->n_targets; i++)
        rc = check_target(x, &x->targets[i], root, e);
    for (int i = 0; !rc && i < x->n_learners; i++)
        rc = check_learner(x, &x->learners[i], root, e);
    if (!rc)
        rc = check_baseline(x, root, e);
    for (int i = 0; !rc && i < x->n_probes; i++)
        rc = check_probe(x, &x->probes[i], root, e);
    return rc;
}

/* ---- a learner's defaults ---- */

int config_learner_defaults(int kind, struct learner_settings *s, struct err *e)
{
    if (kind < 0 || kind >= learner_n_kinds)
        return err_set(e, ERR_USAGE, "learner kind %d does not exist", kind);
    char text[128];
    snprintf(text, sizeof text, "kind: %s\n", learner_kinds[kind]->name);
    struct yt_doc d = {0};
    struct cfg_learner l;
    memset(&l, 0, sizeof l);
    optim_defaults(&l.s.optim);
    int rc = yt_load_string("<defaults>", text, &d, e);
    if (!rc)
        rc = parse_named(S_LEARNER, d.root, "learners.<defaults>", (char *)&l, e);
    yt_free(&d);
    *s = l.s;
    return rc;
}

/* ---- top level ---- */

static int parse_top(const struct yt_node *root, struct experiment *x, struct err *e)
{
    const struct yt_node *src = yt_get(root, "source");
    int rc = parse_section(S_TOP, root, root, "", (char *)x, NULL, NULL, e);
    if (!rc && !valid_name(x->name))
        rc = bad_name(yt_get(root, "name"), "name", e);
    if (!rc)
        rc = parse_section(S_NETWORK, yt_get(root, "network"), root, "network", (char *)x, NULL,
                           NULL, e);
    if (!rc)
        rc = parse_data(yt_get(root, "data"), x, e);
    if (!rc && src && !yt_is_null(src)) {
        x->source.where = config_where_of(src);
        rc = parse_section(S_SOURCE, src, root, "source", (char *)&x->source, NULL, NULL, e);
    }
    if (!rc)
        rc = parse_targets(yt_get(root, "targets"), x, e);
    if (!rc)
        rc = parse_learners(yt_get(root, "learners"), x, e);
    if (!rc)
        rc = parse_probes(yt_get(root, "probes"), x, e);
    if (!rc)
        rc = parse_sweep(yt_get(root, "sweep"), root, x, e);
    if (!rc)
        rc = parse_section(S_OUTPUT, yt_get(root, "output"), root, "output", (char *)x, NULL, NULL, e);
    if (!rc)
        rc = parse_section(S_ENERGY, yt_get(root, "energy"), root, "energy", (char *)x, NULL, NULL, e);
    return rc;
}

int config_from_tree(const struct yt_doc *doc, struct experiment *x, struct err *e)
{
    memset(x, 0, sizeof *x);
    const struct yt_node *root = doc->root;
    int rc;
    if (!root || root->kind != YT_MAP) {
        rc = err_set(e, ERR_USAGE, "%s: an experiment file is a map of keys (name, data, targets, "
                     "learners, …)", doc->file ? doc->file : "<experiment>");
        goto fail;
    }
    if ((rc = parse_top(root, x, e)))
        goto fail;
    if (!(x->file = config_dupstr(doc->file ? doc->file : ""))) {
        rc = config_nomem(e);
        goto fail;
    }
    if ((rc = validate(x, root, e)))
        goto fail;
    return ERR_OK;
fail:
    config_free(x);
    return rc;
}

int config_load(const char *path, char *const *overrides, int n_overrides,
                struct experiment *x, struct yt_doc *doc_out, struct err *e)
{
    struct yt_doc doc = {0};
    memset(x, 0, sizeof *x);
    if (doc_out)
        memset(doc_out, 0, sizeof *doc_out);
    int rc = yt_load_file(path, &doc, e);
    for (int i = 0; !rc && i < n_overrides; i++)
        rc = yt_override(&doc, overrides[i], i + 1, e);
    if (!rc)
        rc = config_from_tree(&doc, x, e);
    if (!rc && doc_out) {
        *doc_out = doc;   /* handed off: the caller frees it */
        return ERR_OK;
    }
    yt_free(&doc);
    return rc;
}

/* Bytes of the strings every key of section sec owns in base. */
static size_t section_text(int sec, const char *base)
{
    int n;
    size_t bytes = 0;
    const struct key *keys = config_keys(&n);
    for (int i = 0; i < n; i++) {
        const struct key *k = &keys[i];
        const void *dst = base + k->off;
        if (k->sec != sec)
            continue;
        if ((k->type == K_STR || k->type == K_WORD) && *(char *const *)dst)
            bytes += strlen(*(char *const *)dst) + 1;
        for (int j = 0; k->type == K_STRS && j < *(const int *)dst; j++)
            bytes += strlen(((char *const *)(base + k->off2))[j]) + 1;
        for (int j = 0; k->type == K_LABELS && j < ((const struct cfg_labels *)dst)->n; j++)
            bytes += strlen(((const struct cfg_labels *)dst)->v[j]) + 1;
    }
    return bytes;
}

size_t config_footprint(const struct experiment *x)
{
    size_t bytes = sizeof *x + section_text(S_TOP, (const char *)x) +
                   section_text(S_SOURCE, (const char *)&x->source);
    for (int i = 0; i < x->n_data; i++)
        bytes += sizeof x->data[i] + section_text(S_DATA, (const char *)&x->data[i]);
    for (int i = 0; i < x->n_targets; i++)
        bytes += sizeof x->targets[i] + section_text(S_TARGET, (const char *)&x->targets[i]);
    for (int i = 0; i < x->n_learners; i++)
        bytes += sizeof x->learners[i] + strlen(x->learners[i].name) + 1;
    for (int i = 0; i < x->n_sweep; i++) {
        bytes += sizeof x->sweep[i] + strlen(x->sweep[i].path) + 1;
        for (int j = 0; j < x->sweep[i].n_values; j++)
            bytes += sizeof(char *) + strlen(x->sweep[i].values[j]) + 1;
    }
    return bytes;
}

void config_free(struct experiment *x)
{
    if (!x)
        return;
    for (int i = 0; i < x->n_data; i++) {
        free(x->data[i].name);
        config_free_section(S_DATA, (char *)&x->data[i]);
    }
    config_free_section(S_SOURCE, (char *)&x->source);
    for (int i = 0; i < x->n_targets; i++) {
        free(x->targets[i].name);
        config_free_section(S_TARGET, (char *)&x->targets[i]);
    }
    for (int i = 0; i < x->n_learners; i++)
        free(x->learners[i].name);    /* learner settings hold no strings */
    free(x->data), free(x->targets), free(x->learners);
    for (int i = 0; i < x->n_sweep; i++) {
        free(x->sweep[i].path);
        config_free_strs(x->sweep[i].values, x->sweep[i].n_values);
        free(x->sweep[i].values);
    }
    free(x->sweep);
    config_free_section(S_TOP, (char *)x);
    for (int i = 0; i < x->n_probes; i++) {
        free(x->probes[i].name);
        config_free_section(S_PROBE, (char *)&x->probes[i]);
    }
    free(x->probes);
    config_free_section(S_OUTPUT, (char *)x);
    config_free_section(S_ENERGY, (char *)x);
    free(x->file);
    memset(x, 0, sizeof *x);
}

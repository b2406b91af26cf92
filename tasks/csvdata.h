/* csvdata: load a user's CSV table (header row, numeric features) into a dataset. */
#ifndef KSHOT_CSVDATA_H
#define KSHOT_CSVDATA_H

#include "harness/base/err.h"
#include "tasks/dataset.h"

/* Integer labels at or above this are refused: class ids size per-class
 * arrays elsewhere, so "every label is a number" must not mean "a million
 * classes". */
#define CSVDATA_MAX_CLASS_ID 65535

/* Which columns play which role. A column is named by its header text; a
 * string of digits that matches no header is a 0-based column index. Give
 * exactly one of label (classification) or targets (regression). */
struct csvdata_options {
    const char *label;                 /* class label column; NULL for regression */
    const char *const *targets;        /* regression target columns (n_targets) */
    int n_targets;                     /* 0 for classification */
    const char *const *features;       /* feature columns in this order (n_features) */
    int n_features;                    /* 0 (features NULL): every other column, file order */
};

/* Loading */

/* Read path into out (initialised and empty) as f32 storage, rows/cols 0,
 * name = path, checksum set. Labels: when every label is a string of decimal
 * digits its value is the class id (class_names NULL, n_classes = max + 1);
 * otherwise the distinct labels sorted by strcmp are classes 0..k-1 and
 * class_names holds them.
 *
 * Accepted: RFC 4180 quoting (commas, doubled quotes and line breaks inside
 * quotes), LF, CRLF or CR line ends, a UTF-8 byte-order mark, a missing final
 * line break; blank lines are skipped. Spaces and tabs around an unquoted
 * field are dropped (libcsv does this); inside quotes a number may have
 * leading white space and trailing spaces or tabs. A number is what strtod
 * reads in the C locale (so also "0x1p3"), must use the rest of the field
 * and must be finite as a float. Label digits may have leading zeros.
 *
 * Errors name the file, the 1-based record (the header is record 1), the
 * physical line where the record starts and the field: ERR_USAGE for a
 * missing file or a column the file does not have (the message lists the
 * columns it has) or inconsistent options; ERR_IO for anything wrong in the
 * file; ERR_NOMEM. On failure out stays empty. */
int csvdata_load(const char *path, const struct csvdata_options *o, struct dataset *out,
                 struct err *e);

#endif

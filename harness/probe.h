/* probe: robustness probes — what they do to an adapted model's query
 * inputs, in the units a researcher sets them in.
 *
 * Sizes are in the units of the inputs after `scale` (with Fashion-MNIST's
 * scale: 255, fractions of the pixel range), and perturbed inputs are
 * clipped to the range the data can take after scale ([0, 255/scale] for
 * IDX bytes; unbounded for CSV and synthetic data). The model reads inputs
 * after the whole preprocessing, x = u·a + b per feature (a, b from scale
 * and standardise), so a step δ in input units is δ·a in the model's units
 * and the gradient in input units is the model's times a > 0: the sign of
 * a gradient is the same in both, and
 *
 *   fgsm   x' = clip(x + ε·a ⊙ sign(∇x L))
 *   pgd    x ← clip(Π_ε(x + α·a ⊙ sign(∇x L))), α = 2.5·ε/steps, from a
 *          uniform random start in the ε-ball (or x itself)
 *   noise  x' = clip(x + σ·a ⊙ N(0, I)); σ = 0 leaves x as drawn
 *
 * with L the mean query cross-entropy against the true labels, Π_ε the
 * projection on |u' − u| ≤ ε per feature, and clip the data's range. Not
 * here: running the model (the harness does, through model_input_grad and
 * model_predict). */
#ifndef KSHOT_PROBE_H
#define KSHOT_PROBE_H

#include <stdbool.h>

#include "harness/base/err.h"
#include "harness/base/rng.h"

enum probe_kind { PROBE_FGSM, PROBE_PGD, PROBE_NOISE, PROBE_PATCH, PROBE_CUE };
extern const char *const probe_kinds[];      /* by enum probe_kind, NULL-terminated */

/* Whether a probe of kind needs the model's input gradient; whether it
 * needs images (IDX data). */
bool probe_needs_gradient(int kind);
bool probe_needs_images(int kind);

/* The input space of one data source, per feature. */
struct probe_space {
    int dim;
    float *a;             /* (dim) model units per input unit */
    float *lo, *hi;       /* (dim) the data's range in model units; ±INFINITY: unbounded */
};

/* For inputs x = u·a + b where u = raw / scale (scale 0: raw) and the
 * preprocessing maps raw to x·mul + add (mul, add NULL: identity); bytes
 * (IDX data) bound raw to [0, 255], other data is unbounded. */
int probe_space_init(struct probe_space *s, int dim, double scale, const float *mul,
                     const float *add, bool bytes, struct err *e);
void probe_space_free(struct probe_space *s);

/* out (n, dim) = clip(x + step·a ⊙ sign(g)) for inputs x and gradients g. */
void probe_sign_step(const struct probe_space *s, const float *x, const float *g, int n,
                     double step, float *out);
/* x (n, dim) into the ε-ball around x0 (in input units) and the data's range. */
void probe_project(const struct probe_space *s, const float *x0, int n, double eps, float *x);
/* out = clip(x0 + U(−ε, ε)·a), drawing n·dim uniforms from r in row order. */
void probe_random_start(const struct probe_space *s, const float *x0, int n, double eps,
                        struct rng *r, float *out);
/* out = clip(x0 + σ·a ⊙ N(0, I)) drawing n·dim normals from r in row
 * order; σ = 0 copies x0 exactly and draws nothing. */
void probe_noise(const struct probe_space *s, const float *x0, int n, double sigma, struct rng *r,
                 float *out);

/* ---- patches (Brown et al. 2017) ----
 * A square patch of side×side values in input units, pasted onto images of
 * rows × cols at positions pos[2i] (row) and pos[2i+1] (column) of its top
 * left corner. */

/* out = x with the patch pasted on each of its n images. */
void probe_paste(const struct probe_space *s, int cols, const float *x, int n, const float *patch,
                 int side, const int *pos, float *out);
/* acc (side², in input units) += the gradients g (n, dim), in the model's
 * units, under each image's patch. */
void probe_patch_grad(const struct probe_space *s, int cols, const float *g, int n, int side,
                      const int *pos, double *acc);
/* n random positions of a side×side patch on rows × cols images. */
void probe_positions(struct rng *r, int rows, int cols, int side, int n, int *pos);

/* ---- cue conflict (Geirhos et al. 2019) ----
 * A class's cue is a texture: a plane wave 0.5 + 0.5·sin(2π·f·(x·cos θ +
 * y·sin θ) + φ) over the image, f, θ, φ drawn from r, scaled to the data's
 * range (in input units). Blending moves an image towards it:
 * x' = (1 − strength)·x + strength·texture. */
void probe_texture(const struct probe_space *s, int rows, int cols, struct rng *r, float *tex);
void probe_blend(const struct probe_space *s, const float *x, const float *tex, double strength,
                 float *out);

#endif

/* cmd_train.c — `certnn train --data F --arch 784-100-100-10 --defense D
 * --out MODEL.onnx`: minibatch training of a dense ReLU classifier, plain or
 * with FGSM / PGD adversarial training or IBP certified training
 * (attacks.h, trn_train), written as ONNX (float32) atomically. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train.h"
#include "cli/cli.h"

static const cli_opt opts[] = {
    {"data", 'd', CLI_STR, "FILE", NULL, 0, -1,
     "training samples: ERAN CSV, or IDX images (gzipped or not) with --labels; input = "
     "pixel/255"},
    CLI_OPT_LABELS("IDX labels file for --data IDX images"),
    {"limit", 'n', CLI_INT, "N", NULL, 1, 1e9, "train on the first N samples only"},
    {"arch", 'a', CLI_STR, "W0-W1-...-WL", NULL, 0, -1,
     "layer widths: inputs, hidden ReLU layers, classes (e.g. 784-100-100-10)"},
    {"defense", 0, CLI_STR, "D", "none", 0, -1,
     "none, fgsm (Goodfellow et al.), pgd (Madry et al.) or ibp (Gowal et al.)"},
    CLI_OPT_EPS("0.1", "L-infinity radius of fgsm/pgd/ibp, in input units (pixel/255)"),
    {"epochs", 0, CLI_INT, "N", "10", 1, 100000, "passes over the training set"},
    CLI_ENGINE_OPT_AS(seed, 0, "S", "seed of initialisation, shuffling and PGD starts"),
    {"batch", 'b', CLI_INT, "N", "128", 1, 65536, "minibatch size"},
    {"optimizer", 0, CLI_STR, "O", "adam", 0, -1, "adam or sgd (with momentum)"},
    {"lr", 0, CLI_DOUBLE, "R", NULL, 1e-12, 10, "learning rate (default 0.001 adam, 0.01 sgd)"},
    {"momentum", 0, CLI_DOUBLE, "M", "0.9", 0, 0.999999, "sgd momentum"},
    {"lr-decay", 0, CLI_DOUBLE, "F", "0.1", 1e-6, 1,
     "learning-rate factor for the last quarter of the epochs (when >= 4)"},
    {"alpha", 0, CLI_DOUBLE, "A", "0.5", 0, 1, "fgsm: weight of the clean loss"},
    {"pgd-steps", 0, CLI_INT, "K", "7", 1, 1000, "pgd: attack steps per minibatch"},
    {"pgd-step", 0, CLI_DOUBLE, "S", NULL, 1e-6, 10,
     "pgd: step size as a multiple of eps (default 2.5 / K)"},
    {"warmup", 0, CLI_DOUBLE, "F", "0.1", 0, 1, "ibp: fraction of the steps before the eps ramp"},
    {"ramp-end", 0, CLI_DOUBLE, "F", "0.6", 0, 1,
     "ibp: fraction of the steps where eps and kappa reach their final values"},
    {"kappa", 0, CLI_DOUBLE, "K", "0.5", 0, 1, "ibp: final weight of the clean loss"},
    {"blas-threads", 0, CLI_INT, "T", "1", 1, 256,
     "OpenBLAS threads (1: results do not depend on the core count)"},
    {"out", 'o', CLI_OUT, "MODEL.onnx", NULL, 0, -1, "write the trained network here (ONNX)"},
    CLI_OPT_QUIET("no per-epoch lines on stderr"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static bool on_epoch(void *ctx, const trn_epoch *e)
{
    const trn_opts *o = ctx;
    fprintf(stderr, "certnn: epoch %d/%d  loss %.4f  train acc %.2f%%", e->epoch, e->epochs,
            e->loss, 100.0 * e->train_acc);
    if (o->defense == TRN_DEF_IBP)
        fprintf(stderr, "  ibp-verified %.2f%% (eps %.4g, kappa %.3g)", 100.0 * e->adv_acc,
                e->eps_t, e->kappa_t);
    else if (o->defense != TRN_DEF_NONE)
        fprintf(stderr, "  %s acc %.2f%%", trn_defense_name(o->defense), 100.0 * e->adv_acc);
    fprintf(stderr, "  lr %.3g  %.1f s\n", e->lr, e->seconds);
    return true;
}

/* Writes n to path atomically: path.tmp.PID, fsync, rename. */
static int write_model(const net *n, const char *path, const char *tmp)
{
    cn_err err;
    if (net_save_onnx(n, tmp, &err) != CN_OK) {
        remove(tmp);
        return cli_report(&err);
    }
    FILE *f = fopen(tmp, "rb+");
    bool ok = f && fsync(fileno(f)) == 0;
    int e = errno;
    if (f)
        fclose(f);
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        remove(tmp);
        cli_error("%s: cannot write: %s", path, strerror(e));
        return CLI_EXIT_NOINPUT;
    }
    return CLI_EXIT_OK;
}

static int run(const cli_args *a)
{
    const char *data = cli_str(a, "data"), *out = cli_str(a, "out"), *arch = cli_str(a, "arch");
    const char *def = cli_str(a, "defense"), *optn = cli_str(a, "optimizer");
    static const char *const required[] = {"data", "arch", "out", NULL};
    if (!cli_require(a, required))
        return CLI_EXIT_USAGE;
    trn_opts o;
    trn_opts_init(&o);
    cn_err err;
    if (trn_parse_arch(arch, &o, &err) != CN_OK) {
        cli_error("%s", err.msg);
        return CLI_EXIT_USAGE;
    }
    if (!trn_defense_parse(def, &o.defense)) {
        cli_error("--defense: expected none, fgsm, pgd or ibp, got '%s'", def);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(optn, "adam"))
        o.optimizer = TRN_OPT_ADAM;
    else if (!strcmp(optn, "sgd"))
        o.optimizer = TRN_OPT_SGD;
    else {
        cli_error("--optimizer: expected adam or sgd, got '%s'", optn);
        return CLI_EXIT_USAGE;
    }
    o.eps = cli_dbl(a, "eps");
    if (o.defense != TRN_DEF_NONE && !(o.eps > 0.0)) {
        cli_error("--eps: --defense %s needs a positive radius, got %g", def, o.eps);
        return CLI_EXIT_USAGE;
    }
    o.epochs = (int)cli_int(a, "epochs");
    o.seed = (uint64_t)cli_int(a, "seed");
    o.batch = (int)cli_int(a, "batch");
    o.lr = cli_has(a, "lr") ? cli_dbl(a, "lr") : 0.0;
    o.momentum = cli_dbl(a, "momentum");
    o.lr_decay = cli_dbl(a, "lr-decay");
    o.fgsm_alpha = cli_dbl(a, "alpha");
    o.pgd_steps = (int)cli_int(a, "pgd-steps");
    o.pgd_step = cli_has(a, "pgd-step") ? cli_dbl(a, "pgd-step") : 0.0;
    o.ibp_warmup = cli_dbl(a, "warmup");
    o.ibp_ramp_end = cli_dbl(a, "ramp-end");
    o.ibp_kappa = cli_dbl(a, "kappa");
    o.blas_threads = (int)cli_int(a, "blas-threads");
    if (o.ibp_ramp_end < o.ibp_warmup) {
        cli_error("--ramp-end (%g) must not be before --warmup (%g)", o.ibp_ramp_end,
                  o.ibp_warmup);
        return CLI_EXIT_USAGE;
    }
    if (!cli_flag(a, "quiet")) {
        o.on_epoch = on_epoch;
        o.ctx = &o;
    }

    /* (--out was found writable when the options were read: CLI_OUT) */
    size_t tl = strlen(out) + 32;
    char *tmp = malloc(tl);
    if (!tmp) {
        cli_error("out of memory");
        return CLI_EXIT_OSERR;
    }
    snprintf(tmp, tl, "%s.tmp.%ld", out, (long)getpid());

    int rc = CLI_EXIT_OK;
    ds_set *d = NULL;
    net *n = NULL;
    int count = cli_has(a, "limit") ? (int)cli_int(a, "limit") : -1;
    if (ds_load(data, cli_str(a, "labels"), 0, count, &d, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    cli_samples_note("--limit", count, 0, d->n, data);
    if (d->dim != o.widths[0]) {
        cli_error("--arch %s: the input width %d does not match %s, whose samples have %d values",
                  arch, o.widths[0], data, d->dim);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    int C = o.widths[o.n_widths - 1];
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] >= C) {
            cli_error("--arch %s: %d outputs, but sample %d of %s has label %d", arch, C, i, data,
                      d->labels[i]);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
    if (!cli_flag(a, "quiet"))
        fprintf(stderr,
                "certnn: training %s (%s, eps %g) on %d samples of %s: %d epochs, batch %d, "
                "%s, seed %llu\n",
                arch, def, o.defense == TRN_DEF_NONE ? 0.0 : o.eps, d->n, data, o.epochs,
                o.batch, optn, (unsigned long long)o.seed);
    trn_stats st;
    if (trn_train(d, &o, &n, &st, &err) != CN_OK) {
        rc = cli_report(&err);
        goto done;
    }
    rc = write_model(n, out, tmp);
    if (rc != CLI_EXIT_OK)
        goto done;
    net_info info;
    net *back = NULL;
    if (net_load(out, &back, &err) != CN_OK) {      /* read back: what was written loads */
        rc = cli_report(&err);
        goto done;
    }
    net_get_info(back, &info);
    printf("wrote %s: %s, defense %s", out, arch, def);
    if (o.defense != TRN_DEF_NONE)
        printf(" (eps %g)", o.eps);
    printf(", %ld parameters, float32\n", info.params);
    printf("trained on %d samples: %d epochs, %ld steps, seed %llu, final loss %.4f, train "
           "accuracy %.2f%%\n",
           d->n, st.epochs_run, st.steps, (unsigned long long)o.seed, st.final_loss,
           100.0 * st.final_train_acc);
    printf("training time: %.1f s\n", st.seconds);
    printf("sha256: %s\n", info.sha256);
    net_free(back);
done:
    free(tmp);
    net_free(n);
    ds_free(d);
    return rc;
}

const cli_cmd cli_cmd_train = {
    .name = "train",
    .usage = "--data FILE [--labels FILE] --arch W0-...-WL [--defense none|fgsm|pgd|ibp] "
             "[--eps E] [--epochs N] [--seed S] --out MODEL.onnx",
    .summary = "train a dense ReLU classifier, plain or with an adversarial/certified defense",
    .details =
        "Minibatch training (softmax cross-entropy, Adam or SGD with momentum, He\n"
        "initialisation) of W0-W1-...-WL: dense layers with ReLU between them.  Defenses:\n"
        "  none   the clean loss J(x)\n"
        "  fgsm   alpha J(x) + (1 - alpha) J(clip(x + eps sign grad J(x)))\n"
        "  pgd    J at K-step PGD points (random start, step 2.5 eps / K) in the eps-ball\n"
        "  ibp    kappa J(x) + (1 - kappa) J(worst-case IBP margins at eps_t); eps_t ramps\n"
        "         from 0 to eps and kappa from 1 to --kappa between --warmup and --ramp-end\n"
        "All randomness comes from --seed and BLAS runs on --blas-threads threads (1), so\n"
        "the same command gives a bit-identical file on the same machine and BLAS.  One\n"
        "line per epoch goes to stderr (loss, train accuracy, robust accuracy, seconds).\n"
        "The model (float32 ONNX: Flatten, Gemm, Relu) is written atomically and read back;\n"
        "`certnn eval MODEL --data TEST` gives its test accuracy.",
    .opts = opts,
    .min_pos = 0,
    .max_pos = 0,
    .run = run,
};

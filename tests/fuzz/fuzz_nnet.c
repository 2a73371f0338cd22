/* fuzz_nnet.c — libFuzzer target for the NNet text loader.
 * Any input must either load or fail with a message; never crash, never
 * leak (checked with the loader's own allocation count), and a loaded
 * network must be consistent with its normalisation block.
 * Seeds: the ACAS Xu .nnet files and the tests/data/bad corpus. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = cn_alloc_live();
    net *n = NULL;
    cn_err err;
    cn_err_clear(&err);
    cn_status st = net_load_nnet_mem((const char *)data, size, "fuzz.nnet", &n, &err);
    if (st == CN_OK) {
        net_info info;
        net_get_info(n, &info);
        if (!info.nnet || info.nnet->n_in != net_in_size(n) || net_n_layers(n) < 1)
            abort();
        /* the network can be evaluated at the centre of the box */
        int in = net_in_size(n), out = net_out_size(n);
        if (in <= 4096 && out <= 4096 && (long)net_max_width(n) * net_n_layers(n) <= 1L << 20) {
            double *x = calloc((size_t)in, sizeof(double)), *y = calloc((size_t)out, sizeof(double));
            if (x && y && net_forward(n, 1, x, y, &err) != CN_OK && err.status != CN_ENOMEM)
                abort();
            free(x);
            free(y);
        }
        net_free(n);
    } else if (err.msg[0] == '\0' || err.status != st || n != NULL) {
        abort();
    }
    if (cn_alloc_live() != live)
        abort();
    return 0;
}

/* fuzz_onnx.c — libFuzzer target for the ONNX loader: any bytes must give a
 * network or a one-line error, never a crash, a leak or a read out of bounds.
 *   ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_onnx
 *   tests/fuzz/fuzz_onnx -max_len=70000 CORPUS_DIR   (seeds: the shared *.onnx) */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "models/models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net *n = NULL;
    cn_err err;
    long live = cn_alloc_live();
    cn_status s = net_load_onnx_mem(data, size, "fuzz.onnx", &n, &err);
    if (s == CN_OK) {
        if (!n || net_n_layers(n) < 1 || net_in_size(n) < 1 || net_out_size(n) < 1)
            abort();
        net_info in;
        net_get_info(n, &in);
        net_free(n);
    } else if (n != NULL || err.status != s || strchr(err.msg, '\n') ||
               strncmp(err.msg, "fuzz.onnx: ", 11) != 0) {
        abort();
    }
    if (cn_alloc_live() != live)
        abort();
    return 0;
}

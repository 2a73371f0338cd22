/* cmd_info.c — `certnn info MODEL [--json]`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"

static const cli_opt opts[] = {
    CLI_OPT_JSON("print a JSON object instead of text"),
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static const char *op_name(net_op op)
{
    switch (op) {
    case NET_DENSE: return "dense";
    case NET_CONV: return "conv";
    case NET_RELU: return "relu";
    case NET_SIGMOID: return "sigmoid";
    case NET_TANH: return "tanh";
    case NET_MAXPOOL: return "maxpool";
    default: return "?";
    }
}

static const char *format_name(net_format f)
{
    switch (f) {
    case NET_FMT_ONNX: return "onnx";
    case NET_FMT_NNET: return "nnet";
    case NET_FMT_BUILT: return "built";
    }
    return "?";
}

static json_t *dims_json(const int *d, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(d[i]));
    return a;
}

static json_t *shape_json(net_shape s)
{
    return json_pack("[iii]", s.c, s.h, s.w);
}

static json_t *graph_json(const net_graph *g);

static int print_json(const net *n, const net_info *in, const net_graph *g)
{
    json_t *layers = json_array();
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        json_t *o = json_pack("{s:s, s:i, s:i, s:o, s:o}", "op", op_name(l->op), "in", l->in,
                              "out", l->out, "in_shape", shape_json(l->in_shape), "out_shape",
                              shape_json(l->out_shape));
        if (l->op == NET_CONV || l->op == NET_MAXPOOL) {
            json_object_set_new(o, "kernel", json_pack("[ii]", l->kh, l->kw));
            json_object_set_new(o, "stride", json_pack("[ii]", l->stride_h, l->stride_w));
            json_object_set_new(o, "pads",
                                json_pack("[iiii]", l->pad_t, l->pad_l, l->pad_b, l->pad_r));
        }
        if (l->wrel != 0.0 || l->wabs != 0.0 || l->brad) {
            int nb = l->op == NET_CONV ? l->out_shape.c : l->out;
            double mb = 0.0;
            for (int k = 0; l->brad && k < nb; k++)
                mb = l->brad[k] > mb ? l->brad[k] : mb;
            json_object_set_new(o, "enclosure", json_pack("{s:f, s:f, s:f}", "wrel", l->wrel,
                                                          "wabs", l->wabs, "max_brad", mb));
        }
        json_array_append_new(layers, o);
    }
    json_t *root = json_pack(
        "{s:s, s:s, s:i, s:i, s:o, s:o, s:i, s:I, s:o, s:s, s:b, s:i, s:s}", "model", in->path,
        "format", format_name(in->format), "inputs", net_in_size(n), "outputs", net_out_size(n),
        "input_dims", dims_json(in->in_dims, in->n_in_dims), "output_dims",
        dims_json(in->out_dims, in->n_out_dims), "relus", net_n_relus(n), "params",
        (json_int_t)in->params, "layers", layers, "sha256", in->sha256, "fold_exact",
        in->fold_exact, "folded_ops", in->folded, "weights", in->weights_note);
    if (!root) {
        cli_error("out of memory building JSON");
        return CLI_EXIT_OSERR;
    }
    if (net_has_enclosure(n))
        json_object_set_new(root, "enclosure",
                            json_pack("{s:f, s:f, s:f}", "max_wrel", in->max_wrel, "max_wabs",
                                      in->max_wabs, "max_brad", in->max_brad));
    if (in->nnet) {
        const net_nnet_norm *nn = in->nnet;
        json_t *a[4] = {json_array(), json_array(), json_array(), json_array()};
        for (int i = 0; i < nn->n_in; i++) {
            json_array_append_new(a[0], json_real(nn->in_min[i]));
            json_array_append_new(a[1], json_real(nn->in_max[i]));
            json_array_append_new(a[2], json_real(nn->in_mean[i]));
            json_array_append_new(a[3], json_real(nn->in_range[i]));
        }
        json_object_set_new(root, "nnet_normalisation",
                            json_pack("{s:o,s:o,s:o,s:o,s:f,s:f}", "input_min", a[0], "input_max",
                                      a[1], "input_mean", a[2], "input_range", a[3],
                                      "output_mean", nn->out_mean, "output_range", nn->out_range));
    }
    json_object_set_new(root, "graph", g ? graph_json(g) : json_null());
    return cli_print_json(root);
}

/* The ONNX graph view (net_graph) as JSON: one object per node. */
static json_t *graph_json(const net_graph *g)
{
    json_t *a = json_array();
    for (int i = 0; i < net_graph_n(g); i++) {
        const net_gnode *v = net_graph_node(g, i);
        json_t *in = json_array(), *shape = json_null();
        for (int k = 0; k < v->n_in; k++)
            json_array_append_new(in, json_string(v->in[k]));
        if (v->nd >= 0) {
            json_decref(shape);
            shape = json_array();
            for (int k = 0; k < v->nd; k++)
                json_array_append_new(shape, json_integer((json_int_t)v->dims[k]));
        }
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o, s:i}", "op", v->op, "name",
                                           v->name, "output", v->out, "shape", shape, "inputs",
                                           in, "constants", v->n_const));
    }
    return a;
}

static void print_graph(const net_graph *g)
{
    printf("graph:    %d nodes, topological order (input '%s')\n", net_graph_n(g),
           net_graph_input(g));
    for (int i = 0; i < net_graph_n(g); i++) {
        const net_gnode *v = net_graph_node(g, i);
        char shape[128] = "?";
        if (v->nd >= 0) {
            size_t k = 0;
            shape[k++] = '[';
            for (int j = 0; j < v->nd && k + 24 < sizeof shape; j++)
                k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", j ? "," : "",
                                      (long long)v->dims[j]);
            snprintf(shape + k, sizeof shape - k, "]");
        }
        printf("  %3d  %-18s %-16s '%s' <-", i, v->op, shape, v->out);
        for (int k = 0; k < v->n_in; k++)
            printf(" '%s'", v->in[k]);
        if (v->n_const)
            printf(" (+%d constant%s)", v->n_const, v->n_const > 1 ? "s" : "");
        putchar('\n');
    }
}

static void print_dims(const int *d, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", d[i]);
    putchar(']');
}

static void print_text(const net *n, const net_info *in)
{
    printf("model:    %s (%s)\n", in->path, format_name(in->format));
    printf("sha256:   %s\n", in->sha256);
    printf("input:    %d values", net_in_size(n));
    if (in->in_name[0])
        printf(", tensor '%s' ", in->in_name);
    else
        putchar(' ');
    print_dims(in->in_dims, in->n_in_dims);
    printf("\noutput:   %d values", net_out_size(n));
    if (in->out_name[0])
        printf(", tensor '%s' ", in->out_name);
    else
        putchar(' ');
    print_dims(in->out_dims, in->n_out_dims);
    printf("\nrelus:    %d\nparams:   %ld\n", net_n_relus(n), in->params);
    printf("weights:  %s\n", in->weights_note);
    if (in->folded && in->fold_exact)
        printf("folding:  %d normalisation/batch-norm/average-pool op(s) folded, exactly\n",
               in->folded);
    else if (in->folded)
        printf("folding:  %d normalisation/batch-norm/average-pool op(s) folded with rounding; "
               "certnn verifies an enclosure of the file's values, not the folded network (largest "
               "radius: weights %.3g |W| + %.3g, biases %.3g)\n",
               in->folded, in->max_wrel, in->max_wabs, in->max_brad);
    if (in->nnet)
        printf("nnet:     input normalisation (x - mean) / range kept as metadata; the layers "
               "take normalised inputs\n");
    printf("layers:   %d\n", net_n_layers(n));
    for (int i = 0; i < net_n_layers(n); i++) {
        const net_layer *l = net_layer_at(n, i);
        printf("  %3d  %-7s %6d -> %-6d", i, op_name(l->op), l->in, l->out);
        if (l->op == NET_MAXPOOL)
            printf("  (%d,%d,%d) -> (%d,%d,%d) kernel %dx%d stride %d,%d", l->in_shape.c,
                   l->in_shape.h, l->in_shape.w, l->out_shape.c, l->out_shape.h, l->out_shape.w,
                   l->kh, l->kw, l->stride_h, l->stride_w);
        if (l->op == NET_CONV)
            printf("  (%d,%d,%d) -> (%d,%d,%d) kernel %dx%d stride %d,%d pads %d,%d,%d,%d",
                   l->in_shape.c, l->in_shape.h, l->in_shape.w, l->out_shape.c, l->out_shape.h,
                   l->out_shape.w, l->kh, l->kw, l->stride_h, l->stride_w, l->pad_t, l->pad_l,
                   l->pad_b, l->pad_r);
        if (l->wrel != 0.0 || l->wabs != 0.0 || l->brad)
            printf("  enclosure: |W* - W| <= %.3g |W| + %.3g%s", l->wrel, l->wabs,
                   l->brad ? ", bias radii" : "");
        putchar('\n');
    }
}

static int run(const cli_args *a)
{
    cn_err err;
    net *n = NULL;
    if (net_load(a->pos[0], &n, &err) != CN_OK)
        return cli_report(&err);
    net_info in;
    net_get_info(n, &in);
    net_graph *g = NULL;
    if (in.format == NET_FMT_ONNX && net_graph_load(a->pos[0], &g, &err) != CN_OK) {
        net_free(n);
        return cli_report(&err);
    }
    int rc = CLI_EXIT_OK;
    if (cli_flag(a, "json"))
        rc = print_json(n, &in, g);
    else {
        print_text(n, &in);
        if (g)
            print_graph(g);
    }
    net_graph_free(g);
    net_free(n);
    return rc;
}

const cli_cmd cli_cmd_info = {
    .name = "info",
    .usage = "MODEL [--json]",
    .summary = "describe a network: shapes, layers, ReLUs, parameters, SHA-256",
    .details = "MODEL is an ONNX file or an NNet (.nnet) text file.",
    .opts = opts,
    .min_pos = 1,
    .max_pos = 1,
    .run = run,
};

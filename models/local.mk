# models/ — base (cn_), network IR and loaders (net_), properties (prop_), datasets (ds_).
noinst_LTLIBRARIES += models/libmodels.la

# ONNX protobuf-c code, generated at build time from the system schema (libonnx-dev).
models/onnx.pb-c.c models/onnx.pb-c.h: $(ONNX_PROTO)
	$(AM_V_GEN)$(MKDIR_P) models && \
	$(PROTOC_C) --proto_path=`dirname $(ONNX_PROTO)` --c_out=models $(ONNX_PROTO)
BUILT_SOURCES += models/onnx.pb-c.c models/onnx.pb-c.h
CLEANFILES += models/onnx.pb-c.c models/onnx.pb-c.h

models_libmodels_la_SOURCES = \
	models/models.h models/models_int.h \
	models/base.c models/net.c models/conv.c models/pool.c models/eval.c models/eval_mpfr.c \
	models/onnx_int.h models/onnx_load.c models/onnx_fold.c models/onnx_ops.c \
	models/onnx_ops_affine.c models/onnx_ops_elem.c models/onnx_ops_pool.c models/onnx_ops_act.c models/softmax.c \
	models/onnx_residual.c models/onnx_dag_int.h models/onnx_dag.c models/onnx_dag_ops.c \
	models/onnx_graph.c \
	models/onnx_save.c models/nnet.c \
	models/vnnlib_int.h models/vnnlib.c models/vnnlib_dnf.c models/vnnlib_cases.c \
	models/prop.c models/dataset.c models/dataset_npy.c models/dataset_int.h \
	models/normalise.c
# Generated code gets its own convenience library so our warnings stay strict.
noinst_LTLIBRARIES += models/libonnxpb.la
nodist_models_libonnxpb_la_SOURCES = models/onnx.pb-c.c models/onnx.pb-c.h
models_libonnxpb_la_CFLAGS = -std=c11
models_libmodels_la_LIBADD = models/libonnxpb.la $(MPFR_LIBS) $(GMP_LIBS) $(SODIUM_LIBS) $(PROTOBUF_C_LIBS) \
	$(OPENBLAS_LIBS) $(ZLIB_LIBS) $(LIBM_LIBS)
# Objects that include the generated header must wait for it, also when a
# single target is built (make tests/fuzz/fuzz_onnx).
$(models_libmodels_la_OBJECTS): models/onnx.pb-c.h

/* groups.h — the cmocka groups a test program runs from its second file
 * (one program, one file per concern; each returns its failed tests). */
#ifndef CERTNN_TESTS_GROUPS_H
#define CERTNN_TESTS_GROUPS_H

int test_onnx_ops_group(void);      /* test_onnx_ops.c: hand-built models (test_onnx) */
int test_onnx_act_group(void);      /* test_onnx_act.c: LeakyRelu, Clip, Softmax, BN anywhere (test_onnx) */
int test_fold_models_group(void);   /* test_fold_models.c: models built in memory (test_fold) */
int test_workflow_radius_group(void); /* test_workflow_radius.c: radius (test_workflow) */
int test_engine_milp_group(void);   /* test_engine_milp.c: random instances vs MILP (test_engine) */
int test_dataset_npy_group(void);   /* test_dataset_npy.c: .npy files (test_dataset) */

#endif

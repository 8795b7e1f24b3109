// reduce_binding.cc — reduceRows, reduceCols, softmaxRows, softmaxRowsBackward (see ops/reduce/reduce.h).
#include <cmath>

#include "../core/error.h"
#include "../ops/reduce/reduce.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

int64_t count_arg(const char* op, const char* what, const Napi::Value& v) {
  double x = number_arg(op, what, v);
  if (!(x >= 0) || x != std::floor(x)) ms::fail(op, what, " must be an integer >= 0, got ", x);
  return static_cast<int64_t>(x);
}

// The reduction named by a numeric op code (native/ops/reduce/reduce.h).
ms::ReduceOp reduce_op_arg(const Napi::Value& v) {
  const double c = number_arg("reduce", "op code", v);
  if (!(c >= 0 && c < static_cast<int>(ms::ReduceOp::Count))) ms::fail("reduce", "unknown op code");
  return static_cast<ms::ReduceOp>(static_cast<int>(c));
}

// reduceRows(code, x, rows, k, p, recycle?)
Napi::Value ReduceRows(const Napi::CallbackInfo& info) {
  const ms::ReduceOp op = reduce_op_arg(info[0]);
  const char* name = ms::reduce_op_name(op);
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg(name, "x", info[1]);
  int64_t rows = count_arg(name, "rows", info[2]), k = count_arg(name, "k", info[3]);
  double p = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
  return a.wrap(info.Env(), ms::reduce_rows(op, x, rows, k, p, a.acct), info[5]);
}

// reduceCols(op, x, outer, k, inner, recycle?): sum/mean over the middle axis of (outer, k, inner).
Napi::Value ReduceCols(const Napi::CallbackInfo& info) {
  const ms::ReduceOp op = reduce_op_arg(info[0]);
  const char* name = ms::reduce_op_name(op);
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg(name, "x", info[1]);
  int64_t outer = count_arg(name, "outer", info[2]), k = count_arg(name, "k", info[3]), inner = count_arg(name, "inner", info[4]);
  return a.wrap(info.Env(), ms::reduce_cols(op, x, outer, k, inner, a.acct), info[5]);
}

// softmaxRows(x, rows, k, log, recycle?)
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  bool lg = info[3].ToBoolean();
  const char* name = lg ? "logSoftmax" : "softmax";
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg(name, "x", info[0]);
  int64_t rows = count_arg(name, "rows", info[1]), k = count_arg(name, "k", info[2]);
  return a.wrap(info.Env(), ms::softmax_rows(x, rows, k, lg, a.acct), info[4]);
}

// softmaxRowsBackward(y, g, rows, k, log, recycle?)
Napi::Value SoftmaxRowsBackward(const Napi::CallbackInfo& info) {
  bool lg = info[4].ToBoolean();
  const char* name = lg ? "logSoftmax" : "softmax";
  Addon& a = addon(info.Env());
  const ms::Tensor& y = tensor_arg(name, "y", info[0]);
  const ms::Tensor& g = tensor_arg(name, "grad", info[1]);
  int64_t rows = count_arg(name, "rows", info[2]), k = count_arg(name, "k", info[3]);
  return a.wrap(info.Env(), ms::softmax_rows_backward(y, g, rows, k, lg, a.acct), info[5]);
}

}  // namespace

void register_reduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceRows", Napi::Function::New<ReduceRows>(env, "reduceRows"));
  exports.Set("reduceCols", Napi::Function::New<ReduceCols>(env, "reduceCols"));
  exports.Set("softmaxRows", Napi::Function::New<SoftmaxRows>(env, "softmaxRows"));
  exports.Set("softmaxRowsBackward", Napi::Function::New<SoftmaxRowsBackward>(env, "softmaxRowsBackward"));
}

}  // namespace msb

// error.h — errors that carry the op name. Every message starts with "[op] " so the JS Error a
// user sees says which call failed, e.g. "[add] shapes (3, 4) and (5) cannot be broadcast".
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ms {

class Error : public std::runtime_error {
 public:
  Error(const std::string& op, const std::string& msg) : std::runtime_error("[" + op + "] " + msg) {}
};

// Variadic message builder: ms::fail("add", "got ", n, " dims") throws ms::Error.
template <typename... Args>
[[noreturn]] void fail(const std::string& op, Args&&... args) {
  std::ostringstream s;
  (s << ... << args);
  throw Error(op, s.str());
}

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ")";
  return s.str();
}

}  // namespace ms

#define MS_CHECK(cond, op, ...) \
  do {                          \
    if (!(cond)) ::ms::fail(op, __VA_ARGS__); \
  } while (0)

// RAII owner of one dlopen()ed shared library.
#pragma once

#include <memory>
#include <string>

#include "core/common/status.h"

namespace dxhub {

class SharedLibrary {
 public:
  // dlopen(RTLD_NOW | RTLD_LOCAL): every undefined symbol is resolved now,
  // and the library's symbols never leak into later loads. Errors are
  // kConfig naming the path.
  static Expected<SharedLibrary> open(const std::string& path);

  // The address of `name`, or nullptr when the library does not export it.
  void* symbol(const char* name) const;
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, Closer> handle_;
  std::string path_;
};

}  // namespace dxhub

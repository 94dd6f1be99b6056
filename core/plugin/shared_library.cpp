#include "core/plugin/shared_library.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

namespace dxhub {

void SharedLibrary::Closer::operator()(void* handle) const { dlclose(handle); }

Expected<SharedLibrary> SharedLibrary::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return config_error("plugin library " + path + " does not exist");
  dlerror();  // clear any stale message
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return config_error("cannot load plugin library " + path + ": " + (why != nullptr ? why : "unknown error"));
  }
  SharedLibrary lib;
  lib.handle_.reset(handle);
  lib.path_ = path;
  return lib;
}

void* SharedLibrary::symbol(const char* name) const {
  dlerror();
  return dlsym(handle_.get(), name);
}

}  // namespace dxhub

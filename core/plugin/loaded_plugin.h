// Internal to core/plugin: one loaded plugin and the host state it sees.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/plugin/plugin_host.h"
#include "core/plugin/shared_library.h"
#include "dxhub/plugin_abi.h"

// The ABI's opaque host context: what the host keeps per plugin. Its address
// is handed to the plugin, so it lives on the heap and never moves.
struct dxhub_host_context {
  std::string plugin_name;
  std::string mappings_dir;
  std::map<std::string, std::string> settings;
  bool accepting_declarations = false;  // only inside on_declare_resources
  std::vector<dxhub::ResourceSpec> resources;
  std::vector<std::string> declaration_errors;
  // A host callback that failed inside (e.g. out of memory): it returned an
  // error to the plugin instead of unwinding through the plugin's C frames,
  // and load() reports this. `callback_failed` alone when even recording
  // the message failed.
  std::vector<std::string> callback_errors;
  bool callback_failed = false;
};

namespace dxhub {

// Calls on_shutdown, then frees the host context, then dlclose()s: the
// member order below makes the library outlive everything that points
// into it.
class LoadedPlugin {
 public:
  LoadedPlugin(SharedLibrary library, const dxhub_plugin_v1* table)
      : library_(std::move(library)), table_(table) {}
  ~LoadedPlugin() {
    if (instance_ != nullptr) table_->on_shutdown(instance_);
  }
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const dxhub_plugin_v1& table() const { return *table_; }
  const std::string& path() const { return library_.path(); }
  dxhub_host_context& context() { return *context_; }
  dxhub_plugin_instance* instance() const { return instance_; }
  void set_instance(dxhub_plugin_instance* instance) { instance_ = instance; }
  bool has_reader_hooks() const { return table_->on_open_reader != nullptr; }

 private:
  SharedLibrary library_;
  const dxhub_plugin_v1* table_;
  std::unique_ptr<dxhub_host_context> context_ = std::make_unique<dxhub_host_context>();
  dxhub_plugin_instance* instance_ = nullptr;
};

}  // namespace dxhub

// `dxhub outbox ...` and `dxhub dead-letters ...`: what an operator does
// with batches the province refused and rows that did not map. Commands
// that change the state take the state lock (StateLock) first; each change
// is written to run history in the same transaction. They print to stdout
// and return a Status (the caller turns it into the exit code).
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"
#include "core/engine/hub_config.h"
#include "core/plugin/plugin_host.h"

namespace dxhub {

struct OperatorOptions {
  bool json = false;
  int wait_seconds = 0;  // for the state lock
};

Status outbox_list(const HubConfig& config, const std::string& resource, const OperatorOptions& options);
// batch_id "" = every quarantined batch (of `resource`, "" = all).
Status outbox_retry(const HubConfig& config, const std::string& batch_id, const std::string& resource,
                    const OperatorOptions& options);
Status outbox_drop(const HubConfig& config, const std::string& batch_id, const std::string& reason,
                   const OperatorOptions& options);

Status dead_letters_list(const HubConfig& config, const std::string& resource, size_t limit,
                         const OperatorOptions& options);
Status dead_letters_show(const HubConfig& config, int64_t id, const OperatorOptions& options);
// id 0 = every open dead letter of `resource`.
Status dead_letters_discard(const HubConfig& config, int64_t id, const std::string& resource,
                            const std::string& reason, const OperatorOptions& options);
// Re-maps open dead letters (of `resource`, "" = all) through the current
// mapping; those that now map are spooled as new batches of their resource
// (delivered by the next `dxhub sync`), those that still fail keep their
// new reason.
Status dead_letters_replay(const HubConfig& config, PluginHost& host, const std::string& resource,
                           const OperatorOptions& options);

}  // namespace dxhub

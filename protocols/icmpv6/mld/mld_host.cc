#include "protocols/icmpv6/mld/mld_host.h"

#include <algorithm>

namespace ringstack::proto::mld {

std::vector<Record> MldHost::Change(const Ipv6Address& group, RecordType type, Instant now) {
  std::erase_if(changes_, [&](const Pending& p) { return p.record.group == group; });
  if (config_.robustness > 1) {
    const Instant at = now + rng_.Uniform(Duration::Nanos(0), config_.unsolicited_report_interval);
    changes_.push_back({Record{type, group}, config_.robustness - 1, at});
  }
  return {Record{type, group}};
}

std::vector<Record> MldHost::Join(const Ipv6Address& group, Instant now) {
  if (group == Ipv6Address::AllNodes() || std::find(groups_.begin(), groups_.end(), group) != groups_.end()) {
    return {};
  }
  groups_.push_back(group);
  return Change(group, RecordType::kChangeToExclude, now);
}

std::vector<Record> MldHost::Leave(const Ipv6Address& group, Instant now) {
  const auto it = std::find(groups_.begin(), groups_.end(), group);
  if (it == groups_.end()) return {};
  groups_.erase(it);
  std::erase_if(specific_, [&](const auto& s) { return s.first == group; });
  return Change(group, RecordType::kChangeToInclude, now);
}

void MldHost::OnQuery(const Query& q, Instant now) {
  const Duration max_delay = Duration::Millis(std::max<std::uint32_t>(q.max_response_ms, 1));
  const Instant at = now + rng_.Uniform(Duration::Nanos(0), max_delay);
  if (q.general()) {
    // RFC 3810 6.2: a pending response due sooner stands.
    general_at_ = std::min(general_at_, at);
    return;
  }
  if (std::find(groups_.begin(), groups_.end(), q.group) == groups_.end()) return;
  for (auto& s : specific_) {
    if (s.first == q.group) {
      s.second = std::min(s.second, at);
      return;
    }
  }
  specific_.emplace_back(q.group, at);
}

void MldHost::OnTimer(Instant now, absl::FunctionRef<void(const std::vector<Record>&)> send) {
  std::vector<Record> changes;
  for (Pending& p : changes_) {
    if (p.at > now) continue;
    changes.push_back(p.record);
    if (--p.left > 0) {
      p.at = now + rng_.Uniform(Duration::Nanos(0), config_.unsolicited_report_interval);
    } else {
      p.at = Instant::Never();
    }
  }
  std::erase_if(changes_, [](const Pending& p) { return p.at.IsNever(); });
  if (!changes.empty()) send(changes);
  if (general_at_ <= now) {
    general_at_ = Instant::Never();
    std::vector<Record> all;
    for (const Ipv6Address& g : groups_) all.push_back(Record{RecordType::kModeIsExclude, g});
    if (!all.empty()) send(all);
  }
  std::vector<Record> specific;
  for (const auto& [group, at] : specific_) {
    if (at <= now) specific.push_back(Record{RecordType::kModeIsExclude, group});
  }
  std::erase_if(specific_, [now](const auto& s) { return s.second <= now; });
  if (!specific.empty()) send(specific);
}

Instant MldHost::NextDeadline() const {
  Instant next = general_at_;
  for (const Pending& p : changes_) next = std::min(next, p.at);
  for (const auto& s : specific_) next = std::min(next, s.second);
  return next;
}

}  // namespace ringstack::proto::mld

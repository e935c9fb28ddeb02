#include "chainwatch/wire/partition.hpp"

#include "chainwatch/base/assert.hpp"

#include <xxhash.h>

namespace chainwatch::wire {

std::uint64_t key_hash(std::string_view customer, std::string_view key) noexcept {
  auto seed = XXH3_64bits(customer.data(), customer.size());
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

std::uint32_t partition_of(std::uint64_t hash, std::uint32_t partitions) noexcept {
  CW_ASSERT(partitions > 0);
  return static_cast<std::uint32_t>(hash % partitions);
}

} // namespace chainwatch::wire

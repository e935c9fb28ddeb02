#pragma once

#include <cstdint>
#include <string_view>

namespace chainwatch::wire {

/// Routing hash of a (customer, key) pair:
/// XXH3_64bits_withSeed(key, seed = XXH3_64bits(customer)). Stable across builds and hosts.
std::uint64_t key_hash(std::string_view customer, std::string_view key) noexcept;

/// The partition in [0, partitions) that owns `hash` (hash modulo partitions; partitions > 0).
std::uint32_t partition_of(std::uint64_t hash, std::uint32_t partitions) noexcept;

} // namespace chainwatch::wire

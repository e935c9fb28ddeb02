#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace chainwatch {

/// Wraps an error value to construct a failed `expected`.
template <class E>
struct unexpected {
  E value;
};

template <class E>
unexpected(E) -> unexpected<E>;

/// Minimal stand-in for C++23 `std::expected`: either a value or an error.
template <class T, class E>
class expected {
public:
  expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  template <class G>
  expected(unexpected<G> err) : state_(std::in_place_index<1>, E(std::move(err.value))) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E& error() & {
    assert(!has_value());
    return std::get<1>(state_);
  }
  const E& error() const& {
    assert(!has_value());
    return std::get<1>(state_);
  }

private:
  std::variant<T, E> state_;
};

} // namespace chainwatch

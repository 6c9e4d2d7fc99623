// Overloaded: one visitor from several lambdas, for std::visit over a
// variant; a variant alternative no lambda takes is a compile error, so a
// visit names every case.
#ifndef RINGSTACK_PROTOCOLS_COMMON_OVERLOADED_H_
#define RINGSTACK_PROTOCOLS_COMMON_OVERLOADED_H_

namespace ringstack::proto {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_OVERLOADED_H_

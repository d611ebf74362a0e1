/// Groups the tests of `Sources/MillimetricRelay/Delivery/` so that
/// `swift test --filter Delivery` runs exactly them.
enum DeliveryDecisionTests {}

import NIOCore

/// Replies that must leave in the order their requests arrived, although they become ready in
/// any order (a refusal at once, a commit later, and commits of different groups may finish
/// out of order): each request takes a slot when it is read, its reply fills the slot, and
/// replies leave from the head for as long as the head is filled.
///
/// Both listeners answer this way: the socket's acks (a slot per read's group of lines) and the
/// HTTP responses (a slot per request), each writing its own protocol from what it pops.
struct InOrderReplies<Request, Reply> {
    private var slots = CircularBuffer<(id: UInt64, request: Request, reply: Reply?)>()
    private var nextID: UInt64 = 1

    /// Requests still waiting for their reply to leave.
    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }

    /// Takes the next slot, already filled if the reply is known; returns its id for ``fill(_:with:)``.
    mutating func enqueue(_ request: Request, reply: Reply? = nil) -> UInt64 {
        let id = nextID
        nextID += 1
        slots.append((id, request, reply))
        return id
    }

    /// Fills a slot; an id no longer queued (the connection was reset meanwhile) is ignored.
    mutating func fill(_ id: UInt64, with reply: Reply) {
        guard let index = slots.firstIndex(where: { $0.id == id }) else { return }
        slots[index].reply = reply
    }

    /// The head's request and reply, once the head is filled; nil while it waits.
    mutating func popReady() -> (request: Request, reply: Reply)? {
        guard let head = slots.first, let reply = head.reply else { return nil }
        slots.removeFirst()
        return (head.request, reply)
    }
}

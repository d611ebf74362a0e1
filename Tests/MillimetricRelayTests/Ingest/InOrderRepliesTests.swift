import Testing

@testable import MillimetricRelay

@Suite struct InOrderRepliesTests {
    /// Replies filled out of order leave in request order, each as soon as all before it have.
    @Test func repliesLeaveInRequestOrderWhateverOrderTheyAreFilledIn() {
        var replies = InOrderReplies<String, Int>()
        let first = replies.enqueue("a")
        let second = replies.enqueue("b")
        let third = replies.enqueue("c", reply: 3)
        #expect(replies.count == 3)
        #expect(replies.popReady() == nil)
        replies.fill(second, with: 2)
        #expect(replies.popReady() == nil)
        replies.fill(first, with: 1)
        var left: [String] = []
        while let (request, reply) = replies.popReady() { left.append("\(request)\(reply)") }
        #expect(left == ["a1", "b2", "c3"])
        #expect(replies.isEmpty)
        // A slot that already left (or never was) ignores a late fill.
        replies.fill(third, with: 9)
        #expect(replies.isEmpty)
    }

    /// A request enqueued with its reply leaves at once when nothing waits before it.
    @Test func aReplyKnownWhenReadLeavesAtOnceBehindNothing() {
        var replies = InOrderReplies<String, Int>()
        _ = replies.enqueue("refused", reply: 400)
        let popped = replies.popReady()
        #expect(popped?.request == "refused" && popped?.reply == 400)
    }
}

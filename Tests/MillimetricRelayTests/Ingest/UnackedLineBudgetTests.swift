import Synchronization
import Testing

@testable import MillimetricRelay

/// The relay-wide budget of unacked lines on its own: what a connection may read, and who is
/// woken when lines come back (issue #11).
@Suite struct UnackedLineBudgetTests {
    /// Counts how often a waiter was called.
    final class Wakes: Sendable {
        let count = Atomic<Int>(0)
        var waiter: UnackedLineBudget.Waiter { { self.count.add(1, ordering: .relaxed) } }
        var value: Int { count.load(ordering: .relaxed) }
    }

    @Test func aConnectionAloneMayTakeTheWholeBudget() {
        let budget = UnackedLineBudget(total: 1_536)
        let id = budget.makeWaiterID()
        let wakes = Wakes()
        budget.take(1_535)
        #expect(budget.mayRead(holding: 1_535, guaranteed: 384, waiter: id, wake: wakes.waiter))
        budget.take(1)
        #expect(!budget.mayRead(holding: 1_536, guaranteed: 384, waiter: id, wake: wakes.waiter))
        #expect(budget.linesInUse == 1_536 && budget.waiterCount == 1)
    }

    @Test func aConnectionBelowItsShareReadsWhenTheBudgetIsSpent() {
        let budget = UnackedLineBudget(total: 1_000)
        let wakes = Wakes()
        budget.take(5_000)
        #expect(budget.mayRead(holding: 0, guaranteed: 384, waiter: budget.makeWaiterID(), wake: wakes.waiter))
        #expect(budget.mayRead(holding: 383, guaranteed: 384, waiter: budget.makeWaiterID(), wake: wakes.waiter))
        #expect(!budget.mayRead(holding: 384, guaranteed: 384, waiter: budget.makeWaiterID(), wake: wakes.waiter))
        // Only the refused one waits.
        #expect(budget.waiterCount == 1)
    }

    @Test func linesGivenBackByAnyConnectionWakeEveryWaiterOnceWhenThereIsRoom() {
        let budget = UnackedLineBudget(total: 10)
        let first = Wakes(), second = Wakes()
        let firstID = budget.makeWaiterID(), secondID = budget.makeWaiterID()
        budget.take(6)  // the first connection's
        budget.take(6)  // the second's
        #expect(!budget.mayRead(holding: 6, guaranteed: 2, waiter: firstID, wake: first.waiter))
        #expect(!budget.mayRead(holding: 6, guaranteed: 2, waiter: secondID, wake: second.waiter))
        // Asking again replaces the waiter: still one wake each.
        #expect(!budget.mayRead(holding: 6, guaranteed: 2, waiter: firstID, wake: first.waiter))
        #expect(budget.waiterCount == 2)

        budget.giveBack(2)  // 10 in use: still no room, nobody woken
        #expect(first.value == 0 && second.value == 0 && budget.waiterCount == 2)
        budget.giveBack(4)  // the second connection's acks: room for both
        #expect(first.value == 1 && second.value == 1 && budget.waiterCount == 0)
        budget.giveBack(6)
        #expect(first.value == 1 && second.value == 1 && budget.linesInUse == 0)
    }

    @Test func aForgottenWaiterIsNotWoken() {
        let budget = UnackedLineBudget(total: 4)
        let wakes = Wakes()
        let id = budget.makeWaiterID()
        budget.take(4)
        #expect(!budget.mayRead(holding: 4, guaranteed: 1, waiter: id, wake: wakes.waiter))
        budget.forgetWaiter(id)
        budget.giveBack(4)
        #expect(wakes.value == 0 && budget.waiterCount == 0)
    }
}

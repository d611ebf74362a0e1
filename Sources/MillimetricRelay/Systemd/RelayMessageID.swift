import Logging
import SystemdSupport

/// The fixed journal `MESSAGE_ID`s of the events an operator may want to find by id, whatever
/// the wording of the message: `journalctl -u millimetric-relay MESSAGE_ID=<id>`.
///
/// Attach one with the `message_id` metadata key (``metadataKey``); the journal handler turns it
/// into the `MESSAGE_ID=` field, and the text format shows it as `message_id=…`. The ids are
/// random 128-bit values chosen once (as systemd's catalog does) and must never change: they
/// are documented in the README and operators put them in alerts.
public enum RelayMessageID {
    /// The metadata key that carries an id.
    public static let metadataKey = "message_id"

    /// Delivery paused on a 401/403/404 (bad key, wrong host): nothing is sent until fixed.
    public static let deliveryPaused = id("af7073abc66b481dad0bc18ec423ce07")
    /// The first successful delivery after a pause.
    public static let deliveryResumed = id("5d1c31eaedc54922abcf4f73489ea0b6")
    /// The API refused an event (or a forget) for good; it is in the dead letters.
    public static let deadLettered = id("4baa6b2425444211bff1ea93006b32f9")
    /// A forget removed a user's queued events and dead letters from the outbox.
    public static let forgetPurged = id("1273fd44b8064511a89e65e8737dcb65")
    /// The outbox refuses new events: its cap (max_outbox_bytes) is reached or the disk is full.
    public static let outboxFull = id("5c4551b150f3467ab9326332fe73c60b")

    /// Every id with a short name, for documentation and tests.
    public static let all: [(name: String, id: JournalMessageID)] = [
        ("delivery paused", deliveryPaused), ("delivery resumed", deliveryResumed),
        ("dead-lettered", deadLettered), ("forget purged", forgetPurged), ("outbox full", outboxFull),
    ]

    private static func id(_ hexDigits: String) -> JournalMessageID {
        JournalMessageID(hexDigits)!  // literals above: 32 hex digits each (checked by a test)
    }
}

extension Logger.MetadataValue {
    /// `logger.error("…", metadata: [RelayMessageID.metadataKey: .messageID(RelayMessageID.deliveryPaused)])`
    public static func messageID(_ id: JournalMessageID) -> Logger.MetadataValue {
        .string(id.hexDigits)
    }
}

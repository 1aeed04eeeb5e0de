//! What a notification (or push) is about: one closed set, so a client can switch on it. A
//! module that tells people something new adds its kind here.

xqt_kernel::closed_set! {
    pub enum NotificationKind {
        /// Sent by hand by a platform operator (`sendNotification` as an admin).
        Notice = "platform.notice",
        /// Sent by a partner holding `notifications:send`.
        PartnerMessage = "partner.message",
        SecurityLocked = "security.locked",
        SecurityNewDevice = "security.new_device",
        SecurityPhoneChanged = "security.phone_changed",
        AccountRestricted = "account.restricted",
        ReportUpheld = "report.upheld",
        ReportDismissed = "report.dismissed",
        IdentityApproved = "verification.identity_approved",
        IdentityRejected = "verification.identity_rejected",
        OrganizationApproved = "verification.organization_approved",
        OrganizationRejected = "verification.organization_rejected",
        PrivacyRequestCompleted = "privacy.request_completed",
        PrivacyRequestDenied = "privacy.request_denied",
        PrivacyRequestOnHold = "privacy.request_on_hold",
        PrivacyIncident = "privacy.incident",
        PolicyMajor = "privacy.policy_major",
        ServiceCeased = "privacy.service_ceased",
        ChatMessage = "chat.message",
        ChatRecalled = "chat.recalled",
        /// Someone is calling (pushed at once, urgent, to ring a phone whose app is in the background).
        CallInvitation = "chat.call_invitation",
        /// Someone applied to (or was invited through) a post of the person's.
        ApplicationReceived = "cooperation.application_received",
        /// An application the person is a side of moved on (viewed, shortlisted, accepted, …).
        ApplicationUpdated = "cooperation.application_updated",
        /// The person was invited to an internship programme.
        ProgrammeInvitation = "cooperation.programme_invitation",
        /// An agreement the person is a party to changed (sent for signing, signed, rejected, …).
        AgreementUpdated = "cooperation.agreement_updated",
        /// Before the shift starts, for a member who has not checked in (push only).
        AttendanceReminder = "attendance.reminder",
        /// A member asked for a make-up check (补卡); told to the group's admins.
        MakeUpRequested = "attendance.make_up_requested",
        /// The person's make-up request was approved or rejected.
        MakeUpDecided = "attendance.make_up_decided",
    }
}

impl NotificationKind {
    /// Platform notices that are also pushed, to people who hold the push consent: account
    /// security, verification results, privacy requests, policy changes, the end of service,
    /// notices. (Incidents push themselves with their own wording; chat, calls and attendance
    /// push from their own jobs.)
    pub fn pushed_as_notice(self) -> bool {
        use NotificationKind::*;
        matches!(
            self,
            Notice
                | SecurityLocked
                | SecurityNewDevice
                | SecurityPhoneChanged
                | AccountRestricted
                | IdentityApproved
                | IdentityRejected
                | OrganizationApproved
                | OrganizationRejected
                | PrivacyRequestCompleted
                | PrivacyRequestDenied
                | PrivacyRequestOnHold
                | PolicyMajor
                | ServiceCeased
        )
    }

    /// Pushed with the highest priority: it must ring now or not at all.
    pub fn urgent(self) -> bool {
        self == NotificationKind::CallInvitation
    }

    /// Kinds a person or partner may send by hand; the others only the platform itself sends,
    /// so a "your account is locked" cannot be forged.
    pub fn sendable_by_hand(self) -> bool {
        matches!(self, NotificationKind::Notice | NotificationKind::PartnerMessage)
    }
}

/// Every stored kind, for the migration that maps kinds written before the set was closed.
pub fn stored() -> Vec<&'static str> {
    use sea_orm::Iterable;
    NotificationKind::iter().map(NotificationKind::as_str).collect()
}

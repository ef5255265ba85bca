package eap

// What the external tests (package eap_test) need of the package's
// internals. Those tests are external because they run the server over the
// memory store of store/memory, which imports eap: package eap's own tests
// cannot import it.

// NotificationGeneralFailure is the AKA-Notification code of a failure
// before authentication.
const NotificationGeneralFailure = notificationGeneralFailure

// TrimNUL is what the server does to an identity before it derives keys
// from it.
var TrimNUL = trimNUL

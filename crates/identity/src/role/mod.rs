//! Roles per app: role keys granted to users directly and through their groups. An app reads a
//! user's effective roles (direct ∪ groups') only while the user may use the app; what each
//! role allows inside the app is the app's business (CRM: access control).

pub mod key;
pub mod store;

pub use key::{MAX_ROLE_KEY_CHARS, MAX_ROLES_PER_GRANT, validate_roles};
pub use store::RoleStore;

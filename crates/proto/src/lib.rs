//! Generated code for the List One protobuf contracts (`proto/listone/<area>/v1`).
//!
//! One module per package; [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.

#![allow(missing_docs, missing_debug_implementations, clippy::all, clippy::pedantic)]

/// Encoded `FileDescriptorSet` of every List One proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/listone_descriptor.bin"));

/// `listone.access.v1`: CRM access control administration — the access policy and explanations.
pub mod access {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/listone.access.v1.rs"));
    }
}

/// `listone.audit.v1`: the tamper-evident audit log.
pub mod audit {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/listone.audit.v1.rs"));
    }
}

/// `listone.customization.v1`: module definitions — fields, rules, data-map tags, layouts.
pub mod customization {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/listone.customization.v1.rs"));
    }
}

/// `listone.identity.v1`: List One Identity — organizations, users, groups, roles, sign-in,
/// sessions, MFA and SCIM tokens.
pub mod identity {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/listone.identity.v1.rs"));
    }
}

/// `listone.records.v1`: records of every module — create, read, change, delete, filtered
/// lists, counts, related lists, field history and bulk writes.
pub mod records {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/listone.records.v1.rs"));
    }
}

/// `listone.system.v1`: server information and the ping baseline.
pub mod system {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/listone.system.v1.rs"));
    }
}

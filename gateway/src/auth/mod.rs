//! Who is calling and what they may do: API keys and identity-provider tokens,
//! roles and their permissions, the field policy every GraphQL request runs under,
//! and per-caller rate limits.

pub mod jwt;
pub mod key_ring;
pub mod policy;
pub mod rate_limit;

use retain_schema::Role;

/// Something a role may do. Roles are fixed sets of these, not a ladder: the data
/// team's `strategist` changes plugins but never sees personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read everything that is not personal data.
    Read,
    /// Read e-mail addresses, phone numbers and birthdays unmasked, and filter on
    /// them.
    ReadPii,
    /// Create and correct customer records.
    WriteCustomers,
    /// Record interactions and feedback; handle complaints; redeem points.
    Engage,
    /// Orders, products and campaigns; adjusting points.
    Commerce,
    /// Plugins, slots and segmentation runs.
    Strategy,
    /// API keys, the audit log, erasure.
    Admin,
}

impl Permission {
    /// The roles that hold this permission, for error messages and docs.
    pub fn roles(self) -> Vec<Role> {
        use sea_orm::Iterable;
        Role::iter().filter(|role| allows(*role, self)).collect()
    }
}

/// A role as people write it: `viewer`, `agent`, …
pub fn role_name(role: Role) -> String {
    format!("{role:?}").to_lowercase()
}

/// The permission table.
pub fn allows(role: Role, permission: Permission) -> bool {
    use Role::{Agent, Operator, Strategist};
    match permission {
        Permission::Read => true,
        Permission::ReadPii | Permission::WriteCustomers | Permission::Engage => {
            matches!(role, Agent | Operator | Role::Admin)
        }
        Permission::Commerce => matches!(role, Operator | Role::Admin),
        Permission::Strategy => matches!(role, Strategist | Role::Admin),
        Permission::Admin => role == Role::Admin,
    }
}

/// The authenticated caller of a request, and the author of what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Shown in the audit log and in slot histories, and what rate limits count
    /// by: `key:NAME` (key names are unique), or `cli`.
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// Whoever runs the `retain` command line: it holds the database credentials,
    /// so it may do everything.
    pub fn cli() -> Self {
        Self {
            name: "cli".into(),
            role: Role::Admin,
        }
    }

    pub fn may(&self, permission: Permission) -> bool {
        allows(self.role, permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_hold_exactly_their_permissions() {
        use Permission::*;
        let table = [
            (Role::Viewer, vec![Read]),
            (Role::Agent, vec![Read, ReadPii, WriteCustomers, Engage]),
            (
                Role::Operator,
                vec![Read, ReadPii, WriteCustomers, Engage, Commerce],
            ),
            (Role::Strategist, vec![Read, Strategy]),
            (
                Role::Admin,
                vec![
                    Read,
                    ReadPii,
                    WriteCustomers,
                    Engage,
                    Commerce,
                    Strategy,
                    Admin,
                ],
            ),
        ];
        let all = [
            Read,
            ReadPii,
            WriteCustomers,
            Engage,
            Commerce,
            Strategy,
            Admin,
        ];
        for (role, granted) in table {
            for permission in all {
                assert_eq!(
                    allows(role, permission),
                    granted.contains(&permission),
                    "{role:?} / {permission:?}"
                );
            }
        }
    }
}

//! The organisations and departments an administrator may see, as every form and list of the
//! portal names them: "University of Camford", "University of Camford › Physics".

use super::page;
use super::session::Portal;
use axum::response::Response;
use castellan_model::OrgId;

/// An organisation or department to show or choose.
pub(crate) struct Place {
    /// Its id.
    pub id: OrgId,
    /// Its own name.
    pub name: String,
    /// `Organisation › Department` for a department, the name for an organisation.
    pub label: String,
    /// Whether it is a department.
    pub department: bool,
}

/// Every organisation the actor may see, each followed by its departments they may see.
pub(crate) async fn places(portal: &Portal) -> Result<Vec<Place>, Response> {
    let views = portal
        .authority()
        .organizations(&portal.actor)
        .await
        .map_err(|e| page::ra_error_page(&e))?;
    let mut out = Vec::new();
    for v in views {
        let org = v.organization.data.name.clone();
        out.push(Place {
            id: v.organization.id,
            name: org.clone(),
            label: org.clone(),
            department: false,
        });
        for d in v.departments {
            out.push(Place {
                id: d.id,
                label: format!("{org} › {}", d.data.name),
                name: d.data.name,
                department: true,
            });
        }
    }
    Ok(out)
}

/// The label of `id` among `places` (its number when the actor cannot see it).
pub(crate) fn label(places: &[Place], id: OrgId) -> String {
    places
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.label.clone())
        .unwrap_or_else(|| format!("organization {id}"))
}

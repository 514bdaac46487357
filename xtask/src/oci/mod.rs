//! The OCI side of the pipeline: a checked binary becomes an image (one-file layer,
//! config, manifest), images become an index over arches, both carry annotations, and
//! they leave as a `docker load` archive or through a registry's distribution API.

pub mod annotations;
pub mod image;
pub mod registry;

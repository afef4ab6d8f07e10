//! Patches: JSON merge patch, strategic merge patch (the directives kubectl sends) and JSON patch.

"""The lessons' floor: helpers that serve one lesson each (see ARCHITECTURE.md).

``toy`` (02), ``loop_lab`` (03), ``layers_lab`` (04), ``architectures`` (06), ``guided`` and
``attribution`` (07), ``art`` (08), ``interpret`` (09). They import the core, never ``course``.
"""

"""ops/edge.replacement: what replaces an HTTP edge's tasks when they cannot be reloaded in place."""
from goswarm.ops import edge
from goswarm.ops.deploy import Step
from goswarm.plan import config, servicespec


def reload_step(replaced_action: str, force_update=None) -> Step:
    template = {"ContainerSpec": {"Image": "goswarm-edge:new"}}
    if force_update is not None:
        template["ForceUpdate"] = force_update
    changes = [("image", "goswarm-edge:old", "goswarm-edge:new")] if replaced_action == "update" else []
    replaced = servicespec.Plan("app-edge", replaced_action, changes, order="stop-first")
    plan = servicespec.Plan("app-edge", "reload", changes or [("image", "(in some tasks) another", "x")])
    service = config.Service(name="app-edge", path=None, port=80)
    return Step(service, {"TaskTemplate": template, "Labels": {}}, None, plan, replaced=replaced)


def test_an_edge_whose_image_changed_gets_the_update_planned_before_the_reload():
    step = reload_step("update")
    fallback = edge.replacement(step)
    assert fallback.plan is step.replaced
    assert fallback.want is step.want


def test_an_edge_back_on_its_specs_own_image_is_forced_so_no_task_keeps_the_files_it_took_in_place():
    for before in (None, 3):
        step = reload_step("none", before)
        fallback = edge.replacement(step)
        assert fallback.plan.action == "update" and fallback.plan.order == "stop-first"
        assert fallback.want["TaskTemplate"]["ForceUpdate"] == (before or 0) + 1
        assert fallback.plan.changes == [("force_update", before or 0, (before or 0) + 1)]
        assert "ForceUpdate" not in step.want["TaskTemplate"] or step.want["TaskTemplate"]["ForceUpdate"] == before
        assert fallback.want["TaskTemplate"]["ContainerSpec"] == step.want["TaskTemplate"]["ContainerSpec"]

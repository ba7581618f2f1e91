"""One cvat-sdk flow, run by the test suite under each cvat-sdk it checks (2.80 in the test
virtualenv, 2.26.1 in one it makes): ``python sdk_flow.py URL USER PASSWORD WORKDIR``.

It uses only what both SDK versions offer and prints a JSON summary for the test to check:
login, organizations, projects, tasks with data, annotations, dataset export and import,
task backup and restore. Any failure raises (non-zero exit, traceback on stderr)."""

import json
import sys
from pathlib import Path

from cvat_sdk import Client, Config
from cvat_sdk.api_client import models
from cvat_sdk.core.proxies.tasks import ResourceType
from PIL import Image


def main(url: str, user: str, password: str, workdir: str) -> dict:
    work = Path(workdir)
    images = []
    for i in range(3):
        path = work / f"img{i}.png"
        Image.new("RGB", (32, 24), (40 * i, 100, 200)).save(path)
        images.append(str(path))
    summary: dict = {}
    # a short status check period: cvat-sdk 2.26 sleeps it before its first poll
    with Client(url, config=Config(status_check_period=0.01)) as client:
        client.login((user, password))
        summary["user"] = client.users.retrieve_current_user().username
        org = client.organizations.create(models.OrganizationWriteRequest(slug="flow",
                                                                          name="Flow"))
        summary["org"] = org.slug
        project = client.projects.create(models.ProjectWriteRequest(
            name="flow project", labels=[models.PatchedLabelRequest(name="car")]))
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="flow task", project_id=project.id),
            resource_type=ResourceType.LOCAL, resources=images)
        summary["task_size"] = task.size
        label_id = task.get_labels()[0].id
        task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
            type="rectangle", frame=1, label_id=label_id, points=[1.0, 2.0, 10.0, 12.0])]))
        exported = work / "dataset.zip"
        task.export_dataset("CVAT for images 1.1", str(exported), include_images=False)
        summary["exported_bytes"] = exported.stat().st_size
        task.remove_annotations()
        task.import_annotations("CVAT 1.1", str(exported))
        summary["shapes_after_import"] = [
            (s.frame, s.points) for s in task.get_annotations().shapes]
        backup = work / "backup.zip"
        task.download_backup(str(backup))
        restored = client.tasks.create_from_backup(str(backup))
        summary["restored"] = (restored.name, restored.size,
                               len(restored.get_annotations().shapes))
        with client.organization_context(org.slug):
            in_org = client.projects.create(models.ProjectWriteRequest(name="in org"))
            summary["org_project_org"] = in_org.organization == org.id
            summary["org_projects"] = [p.name for p in client.projects.list()]
    return summary


if __name__ == "__main__":
    json.dump(main(*sys.argv[1:5]), sys.stdout)

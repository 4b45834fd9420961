"""A Satgas Pamor sees the requests of residents in the RWs they cover, and nothing else."""
from sqlalchemy import select

from eopen.extensions import db
from eopen.models import RW, SatgasAssignment, ServiceRequest, User
from eopen.services import scope


def cover(satgas_id: int, kelurahan_code: str, number: int, kind: str = "primary") -> None:
    rw = db.session.scalar(select(RW).where(RW.kelurahan_code == kelurahan_code, RW.number == number))
    db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas_id, kind=kind))
    db.session.commit()


def test_satgas_sees_requests_of_their_rws_only(app, make_resident, make_staff, make_request):
    near = make_resident(kelurahan_code="32.75.01.1001", rw_number=1)
    other_rw = make_resident(kelurahan_code="32.75.01.1001", rw_number=2)
    satgas, backup, stranger = make_staff("satgas", "32.75.01"), make_staff("satgas", "32.75.01"), \
        make_staff("satgas", "32.75.01")
    mine = make_request(near, status="submitted")
    draft = make_request(near, status="draft")
    theirs = make_request(other_rw, status="submitted")
    with app.app_context():
        cover(satgas, "32.75.01.1001", 1)
        cover(backup, "32.75.01.1001", 1, kind="backup")
        for user_id, expected in ((satgas, {mine}), (backup, {mine}), (stranger, set())):
            user = db.session.get(User, user_id)
            seen = {r.id for r in db.session.scalars(scope.visible_requests(user))}
            assert seen == expected
            assert scope.can_view(user, db.session.get(ServiceRequest, theirs)) is False
            assert scope.can_view(user, db.session.get(ServiceRequest, draft)) is False

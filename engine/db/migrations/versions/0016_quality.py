"""quality: inspection plans and characteristics, switching states, inspections and their
measurements, dispositions of held lots, nonconformance reports and their actions

Measurements and limits are stored as whole numbers of 1/1,000,000, AQLs of 1/1,000 (see
engine.db.exact: a BigInteger column).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import engine.db.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A lot's supplier and what it holds are looked up by lot (every inspection, the held lots).
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movements_lot_id'), ['lot_id'], unique=False)
    with op.batch_alter_table('stock_balances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_balances_lot_key'), ['lot_key'], unique=False)
    op.create_table('inspection_plans',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('supplier_key', sa.Integer(), nullable=False),
    sa.Column('sampling', sa.String(length=8), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('aql', sa.BigInteger(), nullable=True),
    sa.Column('sample_size', sa.Integer(), nullable=True),
    sa.Column('accept_number', sa.Integer(), nullable=True),
    sa.Column('switching', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("(sampling = 'fixed' AND sample_size > 0 AND accept_number >= 0) OR (sampling = 'standard' AND aql > 0)", name=op.f('ck_inspection_plans_sampling_figures')),
    sa.CheckConstraint("sampling IN ('standard', 'fixed')", name=op.f('ck_inspection_plans_sampling')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_inspection_plans_item_id_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supplier_id'], ['contacts.id'], name=op.f('fk_inspection_plans_supplier_id_contacts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_plans')),
    sa.UniqueConstraint('code', name=op.f('uq_inspection_plans_code')),
    sa.UniqueConstraint('item_id', 'supplier_key', name=op.f('uq_inspection_plans_item_id_supplier_key'))
    )
    with op.batch_alter_table('inspection_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_plans_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_plans_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('dispositions',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status_before', sa.String(length=24), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("decision IN ('release', 'rework', 'scrap', 'return')", name=op.f('ck_dispositions_decision')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_dispositions_lot_id_lots'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispositions'))
    )
    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispositions_lot_id'), ['lot_id'], unique=False)

    op.create_table('inspections',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspector', sa.String(length=64), nullable=False),
    sa.Column('original', sa.Boolean(), nullable=False),
    sa.Column('lot_size', sa.BigInteger(), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('code_letter', sa.String(length=1), nullable=True),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('accept_number', sa.Integer(), nullable=False),
    sa.Column('reject_number', sa.Integer(), nullable=False),
    sa.Column('nonconforming', sa.Integer(), nullable=False),
    sa.Column('critical', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_inspections_lot_id_lots'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plans.id'], name=op.f('fk_inspections_plan_id_inspection_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supplier_id'], ['contacts.id'], name=op.f('fk_inspections_supplier_id_contacts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspections_inspected_on'), ['inspected_on'], unique=False)
        batch_op.create_index('ix_inspections_lot_id', ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('nonconformances',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('containment', sa.Text(), nullable=True),
    sa.Column('root_cause_method', sa.String(length=8), nullable=True),
    sa.Column('cause_category', sa.String(length=12), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('verifier', sa.String(length=64), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("cause_category IS NULL OR cause_category IN ('people', 'machine', 'method', 'material', 'measurement', 'environment')", name=op.f('ck_nonconformances_cause_category')),
    sa.CheckConstraint("root_cause_method IS NULL OR root_cause_method IN ('5 whys', 'fishbone')", name=op.f('ck_nonconformances_root_cause_method')),
    sa.CheckConstraint("severity IN ('critical', 'major', 'minor')", name=op.f('ck_nonconformances_severity')),
    sa.CheckConstraint("status IN ('open', 'investigating', 'action', 'verification', 'closed')", name=op.f('ck_nonconformances_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['contacts.id'], name=op.f('fk_nonconformances_customer_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_nonconformances_item_id_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_nonconformances_lot_id_lots'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner'], ['users.login'], name=op.f('fk_nonconformances_owner_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supplier_id'], ['contacts.id'], name=op.f('fk_nonconformances_supplier_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['verifier'], ['users.login'], name=op.f('fk_nonconformances_verifier_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nonconformances'))
    )
    with op.batch_alter_table('nonconformances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nonconformances_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nonconformances_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nonconformances_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nonconformances_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_nonconformances_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('plan_characteristics',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('nominal', sa.BigInteger(), nullable=True),
    sa.Column('lower_limit', sa.BigInteger(), nullable=True),
    sa.Column('upper_limit', sa.BigInteger(), nullable=True),
    sa.Column('defect_class', sa.String(length=8), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("defect_class IN ('critical', 'major', 'minor')", name=op.f('ck_plan_characteristics_defect_class')),
    sa.CheckConstraint("kind IN ('measured', 'attribute')", name=op.f('ck_plan_characteristics_kind')),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plans.id'], name=op.f('fk_plan_characteristics_plan_id_inspection_plans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_characteristics')),
    sa.UniqueConstraint('plan_id', 'name', name=op.f('uq_plan_characteristics_plan_id_name'))
    )
    with op.batch_alter_table('plan_characteristics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_characteristics_plan_id'), ['plan_id'], unique=False)

    op.create_table('switching_states',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('supplier_key', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('recent', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('not_accepted_on_tightened', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("severity IN ('normal', 'tightened', 'reduced', 'discontinued')", name=op.f('ck_switching_states_severity')),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plans.id'], name=op.f('fk_switching_states_plan_id_inspection_plans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_switching_states')),
    sa.UniqueConstraint('plan_id', 'supplier_key', name=op.f('uq_switching_states_plan_id_supplier_key'))
    )
    op.create_table('measurements',
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('sample_number', sa.Integer(), nullable=False),
    sa.Column('characteristic_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('conforms', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['characteristic_id'], ['plan_characteristics.id'], name=op.f('fk_measurements_characteristic_id_plan_characteristics'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_measurements_inspection_id_inspections'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measurements')),
    sa.UniqueConstraint('inspection_id', 'sample_number', 'characteristic_id', name=op.f('uq_measurements_inspection_id_sample_number_characteristic_id'))
    )
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measurements_characteristic_id'), ['characteristic_id'], unique=False)

    op.create_table('ncr_actions',
    sa.Column('ncr_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('corrective', 'preventive')", name=op.f('ck_ncr_actions_kind')),
    sa.CheckConstraint("status IN ('open', 'done')", name=op.f('ck_ncr_actions_status')),
    sa.ForeignKeyConstraint(['ncr_id'], ['nonconformances.id'], name=op.f('fk_ncr_actions_ncr_id_nonconformances'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner'], ['users.login'], name=op.f('fk_ncr_actions_owner_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ncr_actions'))
    )
    with op.batch_alter_table('ncr_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ncr_actions_ncr_id'), ['ncr_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stock_balances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_balances_lot_key'))
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_lot_id'))
    with op.batch_alter_table('ncr_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ncr_actions_ncr_id'))

    op.drop_table('ncr_actions')
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measurements_characteristic_id'))

    op.drop_table('measurements')
    op.drop_table('switching_states')
    with op.batch_alter_table('plan_characteristics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_characteristics_plan_id'))

    op.drop_table('plan_characteristics')
    with op.batch_alter_table('nonconformances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nonconformances_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_nonconformances_status'))
        batch_op.drop_index(batch_op.f('ix_nonconformances_lot_id'))
        batch_op.drop_index(batch_op.f('ix_nonconformances_item_id'))
        batch_op.drop_index(batch_op.f('ix_nonconformances_customer_id'))

    op.drop_table('nonconformances')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_inspections_plan_id'))
        batch_op.drop_index('ix_inspections_lot_id')
        batch_op.drop_index(batch_op.f('ix_inspections_inspected_on'))

    op.drop_table('inspections')
    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispositions_lot_id'))

    op.drop_table('dispositions')
    with op.batch_alter_table('inspection_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_plans_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_plans_item_id'))

    op.drop_table('inspection_plans')
